package dev.keypool.config;

import dev.keypool.actuate.KeyPoolEventLogger;
import dev.keypool.actuate.KeyPoolsEndpoint;
import dev.keypool.actuate.KeyPoolsHealthIndicator;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyStateStore;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Operator-facing views of the pools: health, the {@code keypools} endpoint and state-change
 * logs. The write guard lives in the management context, see
 * {@link KeyPoolsManagementContextConfiguration}; metrics in {@code dev.keypool.metrics}.
 */
@Configuration(proxyBeanMethods = false)
public class KeyPoolsActuatorConfiguration {

	/** Named so that the contributor is {@code keypools}. */
	@Bean
	KeyPoolsHealthIndicator keypoolsHealthIndicator(KeyPools pools, KeyStateStore store) {
		return new KeyPoolsHealthIndicator(pools, store);
	}

	@Bean
	KeyPoolsEndpoint keyPoolsEndpoint(KeyPools pools) {
		return new KeyPoolsEndpoint(pools);
	}

	@Bean
	KeyPoolEventLogger keyPoolEventLogger(KeyPools pools) {
		KeyPoolEventLogger eventLogger = new KeyPoolEventLogger();
		pools.addListener(eventLogger);
		return eventLogger;
	}

}
