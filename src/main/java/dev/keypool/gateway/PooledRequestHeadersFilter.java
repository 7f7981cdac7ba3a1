package dev.keypool.gateway;

import org.springframework.cloud.gateway.filter.headers.HttpHeadersFilter;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.web.server.ServerWebExchange;

/**
 * Keeps the caller's network details out of pooled requests: the provider sees the pool's
 * key, not who is behind the gateway. Runs after Spring Cloud Gateway's own header filters,
 * which add {@code X-Forwarded-*} and {@code Forwarded}, and removes them again. Being last,
 * it also records whether the key's credential is still on the request as it leaves
 * ({@link OutgoingCredential}).
 */
public class PooledRequestHeadersFilter implements HttpHeadersFilter, Ordered {

	@Override
	public HttpHeaders filter(HttpHeaders input, ServerWebExchange exchange) {
		if (!Boolean.TRUE.equals(exchange.getAttribute(KeyFailoverGatewayFilterFactory.POOLED_REQUEST_ATTR))) {
			return input;
		}
		HttpHeaders filtered = new HttpHeaders();
		input.forEach((name, values) -> {
			if (!isForwarding(name)) {
				filtered.put(name, values);
			}
		});
		OutgoingCredential.check(exchange, filtered);
		return filtered;
	}

	private static boolean isForwarding(String name) {
		return name.regionMatches(true, 0, "x-forwarded-", 0, 12) || name.equalsIgnoreCase("forwarded")
				|| name.equalsIgnoreCase("x-real-ip");
	}

	@Override
	public int getOrder() {
		return Ordered.LOWEST_PRECEDENCE;
	}

}
