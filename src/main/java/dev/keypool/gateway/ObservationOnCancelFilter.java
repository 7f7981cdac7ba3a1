package dev.keypool.gateway;

import reactor.core.publisher.Mono;

import org.springframework.cloud.gateway.filter.GatewayFilterChain;
import org.springframework.cloud.gateway.filter.GlobalFilter;
import org.springframework.cloud.gateway.filter.NettyRoutingFilter;
import org.springframework.core.Ordered;
import org.springframework.web.server.ServerWebExchange;

/**
 * Stops the upstream {@code http.client.requests} observation of any route when the caller
 * goes away before the response headers arrived. Spring Cloud Gateway stops it on headers or
 * on an error, but a cancelled request is neither, so without this every abandoned request
 * stays an active long task forever (plain routes included).
 */
public class ObservationOnCancelFilter implements GlobalFilter, Ordered {

	@Override
	public Mono<Void> filter(ServerWebExchange exchange, GatewayFilterChain chain) {
		return chain.filter(exchange).doOnCancel(() -> AttemptObservations.endWithoutResponse(exchange, null));
	}

	/** Just before the routing filter, so nothing between them can swallow the cancel. */
	@Override
	public int getOrder() {
		return NettyRoutingFilter.ORDER - 1;
	}

}
