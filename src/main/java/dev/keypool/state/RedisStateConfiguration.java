package dev.keypool.state;

import java.time.Clock;
import java.time.Duration;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.MeterBinder;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.connection.ReactiveRedisConnectionFactory;

/**
 * Shares key state between replicas through Redis when {@code keypool.state.store=redis}.
 * The connection comes from the standard {@code spring.data.redis.*} properties.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "keypool.state.store", havingValue = "redis")
public class RedisStateConfiguration {

	/**
	 * The shared store. Its lifecycle subscribes to changes and loads the state before the
	 * web server takes traffic, and stops after it.
	 */
	@Bean
	RedisKeyStateStore redisKeyStateStore(ReactiveRedisConnectionFactory connectionFactory,
			ObjectProvider<Clock> clock, @Value("${keypool.state.redis.prefix:keypool:}") String prefix,
			@Value("${keypool.state.redis.resync-interval:30s}") Duration resyncInterval,
			@Value("${spring.data.redis.timeout:2s}") Duration timeout) {
		return new RedisKeyStateStore(connectionFactory, new RedisStateSettings(prefix, resyncInterval, timeout),
				clock.getIfAvailable(Clock::systemUTC));
	}

	/** {@code keypool.state.store.up}: 1 while Redis is reachable, 0 while working on local state. */
	@Bean
	MeterBinder keypoolStateStoreMeter(RedisKeyStateStore store) {
		return (registry) -> Gauge.builder("keypool.state.store.up", store, (it) -> it.health().connected() ? 1 : 0)
			.description("Whether the key state store reaches Redis (1) or works on local state only (0)")
			.register(registry);
	}

}
