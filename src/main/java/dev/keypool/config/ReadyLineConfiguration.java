package dev.keypool.config;

import dev.keypool.pool.KeyPools;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Registers {@link ReadyLine}, the one line that says the gateway serves and where.
 */
@Configuration(proxyBeanMethods = false)
public class ReadyLineConfiguration {

	@Bean
	ReadyLine readyLine(KeyPools pools) {
		return new ReadyLine(pools);
	}

}
