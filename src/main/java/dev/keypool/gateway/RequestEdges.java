package dev.keypool.gateway;

import java.util.List;
import java.util.Set;

import io.netty.handler.codec.http.HttpVersion;
import reactor.netty.http.server.HttpServerRequest;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;

/**
 * What a {@code KeyFailover} route refuses before any credential is looked at: requests that
 * could reach another upstream path than the one the route matched (dot segments, encoded
 * slashes), methods the provider API does not use, and protocol upgrades. A pool key must
 * only ever be sent where the route's predicate meant it to go.
 */
final class RequestEdges {

	static final Set<HttpMethod> ALLOWED_METHODS = Set.of(HttpMethod.GET, HttpMethod.POST, HttpMethod.HEAD);

	static final String ALLOW_HEADER_VALUE = "GET, POST, HEAD";

	private RequestEdges() {
	}

	/** Why the request is refused with 400, or {@code null} when its path and headers are fine. */
	static String badRequest(ServerHttpRequest request) {
		return badRequest(request, false);
	}

	/**
	 * As {@link #badRequest(ServerHttpRequest)}; with {@code encodedSlashAllowed} (a provider
	 * whose resource names contain slashes, such as Bedrock's ARNs) an encoded slash is
	 * accepted inside a segment, dot segments and backslashes still are not.
	 */
	static String badRequest(ServerHttpRequest request, boolean encodedSlashAllowed) {
		if (request.getHeaders().containsHeader(HttpHeaders.UPGRADE)) {
			return "protocol upgrades are not forwarded";
		}
		String host = badHost(request);
		if (host != null) {
			return host;
		}
		String rawPath = request.getURI().getRawPath();
		return (rawPath != null) ? badPath(rawPath, encodedSlashAllowed) : null;
	}

	/**
	 * RFC 9112 §3.2: an HTTP/1.1 request has exactly one {@code Host}; a request with two could
	 * be routed by one and read by the upstream by the other. HTTP/2 carries {@code :authority}
	 * instead, and HTTP/1.0 may omit it.
	 */
	private static String badHost(ServerHttpRequest request) {
		List<String> hosts = request.getHeaders().getOrEmpty(HttpHeaders.HOST);
		if (hosts.size() > 1) {
			return "more than one Host header";
		}
		if (hosts.isEmpty() && ServerHttpRequestDecorator.getNativeRequest(request) instanceof HttpServerRequest
				netty && HttpVersion.HTTP_1_1.equals(netty.version())) {
			return "an HTTP/1.1 request needs a Host header";
		}
		return null;
	}

	static boolean methodAllowed(ServerHttpRequest request) {
		return ALLOWED_METHODS.contains(request.getMethod());
	}

	/**
	 * Refuses a path whose segments, once decoded the way an upstream would, step out of it:
	 * {@code .} or {@code ..} (also {@code %2e%2e} and {@code ..;param}), or an encoded slash
	 * or backslash that an upstream may decode into a separator.
	 */
	static String badPath(String rawPath) {
		return badPath(rawPath, false);
	}

	static String badPath(String rawPath, boolean encodedSlashAllowed) {
		if ((!encodedSlashAllowed && containsIgnoreCase(rawPath, "%2f")) || containsIgnoreCase(rawPath, "%5c") || rawPath.indexOf('\\') >= 0) {
			return "encoded slashes and backslashes are not allowed in the path";
		}
		int start = 0;
		while (start <= rawPath.length()) {
			int end = rawPath.indexOf('/', start);
			if (end < 0) {
				end = rawPath.length();
			}
			if (isDotSegment(rawPath, start, end)) {
				return "'.' and '..' path segments are not allowed";
			}
			start = end + 1;
		}
		return null;
	}

	/** {@code .}, {@code ..}, their percent-encoded forms, and any of them followed by {@code ;param}. */
	private static boolean isDotSegment(String path, int start, int end) {
		int semicolon = path.indexOf(';', start);
		if (semicolon >= 0 && semicolon < end) {
			end = semicolon;
		}
		int dots = 0;
		int i = start;
		while (i < end) {
			if (path.charAt(i) == '.') {
				i++;
			}
			else if (end - i >= 3 && path.regionMatches(true, i, "%2e", 0, 3)) {
				i += 3;
			}
			else {
				return false;
			}
			dots++;
		}
		return dots == 1 || dots == 2;
	}

	private static boolean containsIgnoreCase(String value, String part) {
		for (int i = 0; i + part.length() <= value.length(); i++) {
			if (value.regionMatches(true, i, part, 0, part.length())) {
				return true;
			}
		}
		return false;
	}

}
