package dev.keypool.gateway;

import java.util.List;
import java.util.Set;

import org.springframework.http.HttpHeaders;

/**
 * The caller's hop-by-hop headers (RFC 9110 §7.6.1): they describe the caller's connection,
 * not the request, and a proxy drops them. They are dropped from a pooled request before the
 * key's credential is set. Spring Cloud Gateway drops the names listed in {@code Connection}
 * later, on the way out, from the outgoing headers: a caller listing {@code x-api-key} or
 * {@code authorization} there would otherwise remove the pool's credential after it was set.
 */
final class HopByHopHeaders {

	/** Hop-by-hop whatever {@code Connection} says; every {@code Proxy-*} header is for the caller's proxy. */
	private static final List<String> ALWAYS = List.of(HttpHeaders.CONNECTION, "keep-alive", HttpHeaders.TE,
			HttpHeaders.TRAILER, HttpHeaders.TRANSFER_ENCODING, HttpHeaders.UPGRADE);

	private static final String PROXY_PREFIX = "proxy-";

	private HopByHopHeaders() {
	}

	/** Removes from {@code headers} every name its {@code Connection} headers list, and the hop-by-hop ones. */
	static void remove(HttpHeaders headers) {
		Set.copyOf(headers.getConnection()).forEach(headers::remove);
		ALWAYS.forEach(headers::remove);
		headers.headerNames()
			.stream()
			.filter((name) -> name.regionMatches(true, 0, PROXY_PREFIX, 0, PROXY_PREFIX.length()))
			.toList()
			.forEach(headers::remove);
	}

}
