package dev.keypool.config;

import java.util.List;

import dev.keypool.metrics.KeyPoolMetrics;
import dev.keypool.pool.KeyPools;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Registers {@link KeyPoolMetrics}; Spring Boot binds every {@code MeterBinder} bean to the
 * meter registries, Prometheus included.
 */
@Configuration(proxyBeanMethods = false)
public class KeyPoolMetricsConfiguration {

	@Bean
	KeyPoolMetrics keyPoolMetrics(KeyPools pools, KeypoolProperties properties) {
		List<String> clientIds = properties.clients().stream().map(KeypoolProperties.Client::id).toList();
		return new KeyPoolMetrics(pools, clientIds);
	}

}
