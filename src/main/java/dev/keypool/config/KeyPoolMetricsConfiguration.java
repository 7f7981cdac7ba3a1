package dev.keypool.config;

import dev.keypool.config.reload.LiveKeypool;
import dev.keypool.metrics.KeyPoolMetrics;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Registers {@link KeyPoolMetrics}; Spring Boot binds every {@code MeterBinder} bean to the
 * meter registries, Prometheus included.
 */
@Configuration(proxyBeanMethods = false)
public class KeyPoolMetricsConfiguration {

	/** Follows reloads: series of added keys and clients appear, those of removed ones go. */
	@Bean
	KeyPoolMetrics keyPoolMetrics(LiveKeypool live) {
		return new KeyPoolMetrics(live.pools(),
				() -> live.properties().clients().stream().map(KeypoolProperties.Client::id).toList());
	}

}
