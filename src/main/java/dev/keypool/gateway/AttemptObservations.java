package dev.keypool.gateway;

import io.micrometer.observation.Observation;

import org.springframework.cloud.gateway.support.ServerWebExchangeUtils;
import org.springframework.web.server.ServerWebExchange;

/**
 * Stops the {@code http.client.requests} observation of an upstream attempt that ends
 * without response headers.
 * <p>
 * Spring Cloud Gateway starts that observation when it sends the request and stops it when
 * response headers arrive; an error reaching its {@code ObservationClosingWebExceptionHandler}
 * stops it otherwise. This filter answers network errors itself (and a caller may go away
 * while it waits), so neither happens and the observation would stay active forever.
 */
final class AttemptObservations {

	/** Set by Spring Cloud Gateway when it stopped the current observation itself. */
	static final String STOPPED_ATTR = "gateway.observation.stopped";

	private AttemptObservations() {
	}

	/** Forgets the previous attempt's observation, so the next one is judged on its own. */
	static void beginAttempt(ServerWebExchange exchange) {
		exchange.getAttributes().remove(ServerWebExchangeUtils.GATEWAY_OBSERVATION_ATTR);
		exchange.getAttributes().remove(STOPPED_ATTR);
	}

	/** Stops the current attempt's observation unless the gateway already did. */
	static void endWithoutResponse(ServerWebExchange exchange, Throwable error) {
		Observation observation = exchange.getAttribute(ServerWebExchangeUtils.GATEWAY_OBSERVATION_ATTR);
		if (observation == null || exchange.getAttributes().putIfAbsent(STOPPED_ATTR, "true") != null) {
			return;
		}
		if (error != null) {
			observation.error(error);
		}
		observation.stop();
	}

}
