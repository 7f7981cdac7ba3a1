package dev.keypool.actuate;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import reactor.core.publisher.Mono;

import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.PathContainer;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebFilterChain;

/**
 * Guards writes to the {@code keypools} endpoint (and the other guarded endpoints, such as
 * {@code refresh}) on the management server. With an admin token configured, a write needs
 * {@code Authorization: Bearer <token>} (compared in constant time), else 401. Without one,
 * writes are refused with 403 unless unauthenticated writes are explicitly allowed. Reads
 * ({@code GET}, {@code HEAD}) always pass. The token is read on every write, so a reloaded
 * one applies at once.
 * <p>
 * Actuator operations cannot read request headers, hence a filter in front of them.
 */
public class KeyPoolsWriteGuard implements WebFilter, Ordered {

	private static final String BEARER = "Bearer ";

	private final Supplier<List<String>> endpointPaths;

	private final Supplier<AdminAccess> access;

	/**
	 * @param endpointPath the path of the endpoint ({@code /actuator/keypools}), resolved
	 * lazily because endpoint discovery may not have run yet
	 * @param token the admin token; {@code null} or blank when none is configured
	 * @param allowUnauthenticatedWrites whether writes pass when no token is configured
	 */
	public KeyPoolsWriteGuard(Supplier<String> endpointPath, String token, boolean allowUnauthenticatedWrites) {
		this(() -> List.of(endpointPath.get()), constant(AdminAccess.of(token, allowUnauthenticatedWrites)));
	}

	private static Supplier<AdminAccess> constant(AdminAccess access) {
		return () -> access;
	}

	/**
	 * @param endpointPaths the paths of the guarded endpoints ({@code /actuator/keypools},
	 * {@code /actuator/refresh}), resolved lazily because endpoint discovery may not have run yet
	 * @param access the admin token and policy in force, read on every write
	 */
	public KeyPoolsWriteGuard(Supplier<List<String>> endpointPaths, Supplier<AdminAccess> access) {
		this.endpointPaths = endpointPaths;
		this.access = access;
	}

	@Override
	public int getOrder() {
		return Ordered.HIGHEST_PRECEDENCE + 10;
	}

	@Override
	public Mono<Void> filter(ServerWebExchange exchange, WebFilterChain chain) {
		if (!isWrite(exchange)) {
			return chain.filter(exchange);
		}
		AdminAccess access = this.access.get();
		if (access.tokenDigest() == null) {
			return access.allowUnauthenticatedWrites() ? chain.filter(exchange) : refuse(exchange,
					HttpStatus.FORBIDDEN, "forbidden", "keypools writes are disabled: no keypool.admin.token is configured");
		}
		if (!presentsToken(access, exchange.getRequest().getHeaders().getFirst(HttpHeaders.AUTHORIZATION))) {
			exchange.getResponse().getHeaders().set(HttpHeaders.WWW_AUTHENTICATE, "Bearer");
			return refuse(exchange, HttpStatus.UNAUTHORIZED, "unauthorized",
					"keypools writes need Authorization: Bearer with the keypool.admin.token");
		}
		return chain.filter(exchange);
	}

	private boolean isWrite(ServerWebExchange exchange) {
		HttpMethod method = exchange.getRequest().getMethod();
		if (HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method)) {
			return false;
		}
		List<String> path = segments(exchange.getRequest().getPath().pathWithinApplication());
		for (String endpointPath : this.endpointPaths.get()) {
			List<String> endpoint = segments(PathContainer.parsePath(endpointPath));
			if (path.size() >= endpoint.size() && path.subList(0, endpoint.size()).equals(endpoint)) {
				return true;
			}
		}
		return false;
	}

	/**
	 * The path as the handler mapping matches it: decoded, without matrix variables
	 * ({@code ;x=y}) and empty segments ({@code //}), so no spelling of the endpoint's path
	 * reaches it past this guard.
	 */
	private static List<String> segments(PathContainer path) {
		List<String> segments = new ArrayList<>();
		for (PathContainer.Element element : path.elements()) {
			if (element instanceof PathContainer.PathSegment segment && !segment.valueToMatch().isEmpty()) {
				segments.add(segment.valueToMatch());
			}
		}
		return segments;
	}

	private static boolean presentsToken(AdminAccess access, String authorization) {
		if (authorization == null || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
			return false;
		}
		// Digests have a fixed length, so the comparison time says nothing about the token.
		return MessageDigest.isEqual(access.tokenDigest(), sha256(authorization.substring(BEARER.length()).trim()));
	}

	private static Mono<Void> refuse(ServerWebExchange exchange, HttpStatus status, String error, String message) {
		ServerHttpResponse response = exchange.getResponse();
		response.setStatusCode(status);
		response.getHeaders().setContentType(MediaType.APPLICATION_JSON);
		byte[] body = ("{\"error\":\"" + error + "\",\"message\":\"" + message + "\"}")
			.getBytes(StandardCharsets.UTF_8);
		return response.writeWith(Mono.fromSupplier(() -> response.bufferFactory().wrap(body)));
	}

	private static byte[] sha256(String value) {
		try {
			return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException("SHA-256 is required of every JVM", ex);
		}
	}

	/**
	 * Who may write: the digest of the admin token ({@code null} when none is configured) and
	 * whether writes pass without one. Holds no token, only its digest.
	 */
	public record AdminAccess(byte[] tokenDigest, boolean allowUnauthenticatedWrites) {

		public static AdminAccess of(String token, boolean allowUnauthenticatedWrites) {
			return new AdminAccess((token != null && !token.isBlank()) ? sha256(token) : null,
					allowUnauthenticatedWrites);
		}

		@Override
		public String toString() {
			return "AdminAccess[token=" + ((this.tokenDigest != null) ? "***" : "none")
					+ ", allowUnauthenticatedWrites=" + this.allowUnauthenticatedWrites + "]";
		}

	}

}
