package dev.keypool.state;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import io.lettuce.core.ClientOptions;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.MeterBinder;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.data.redis.autoconfigure.LettuceClientConfigurationBuilderCustomizer;
import org.springframework.boot.data.redis.autoconfigure.LettuceClientOptionsBuilderCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.connection.ReactiveRedisConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration.LettuceClientConfigurationBuilder;

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
			ObjectProvider<Clock> clock, ObjectProvider<KeyPools> pools,
			@Value("${keypool.state.redis.prefix:keypool:}") String prefix,
			@Value("${keypool.state.redis.resync-interval:30s}") Duration resyncInterval,
			@Value("${spring.data.redis.timeout:2s}") Duration timeout) {
		// asked on each sync, so pools a reload adds are loaded; the pools need the store first
		Supplier<List<String>> poolNames = () -> {
			KeyPools current = pools.getIfAvailable();
			return (current != null) ? current.all().stream().map(KeyPool::name).toList() : List.of();
		};
		return new RedisKeyStateStore(connectionFactory, new RedisStateSettings(prefix, resyncInterval, timeout),
				clock.getIfAvailable(Clock::systemUTC), poolNames);
	}

	/**
	 * While Lettuce is reconnecting (a Sentinel failover, a Cluster node lost), commands are
	 * refused at once instead of queued until the command timeout: the state store and the
	 * client budgets fail open without making the request wait for the timeout. Topology
	 * refresh for a Cluster is Spring Boot's {@code spring.data.redis.lettuce.cluster.refresh.*}
	 * (on by default in application.yaml).
	 */
	@Bean
	LettuceClientOptionsBuilderCustomizer keypoolRedisRejectWhileDisconnected() {
		return (options) -> options.disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS);
	}

	/** Lets Lettuce close, on shutdown, a connection that was still being opened. */
	@Bean
	LettuceClientConfigurationBuilderCustomizer keypoolRedisShutdown(
			@Value("${spring.data.redis.lettuce.shutdown-timeout:100ms}") Duration shutdownTimeout) {
		return (builder) -> closeLateConnectionsOnShutdown(builder, shutdownTimeout);
	}

	/**
	 * Shuts the Lettuce event loops down with a quiet period of 100ms and a timeout of at least
	 * a second, instead of Spring Boot's none and 100ms. An event loop closes its channels on
	 * each pass while it shuts down and, with no quiet period, stops after the pass in which the
	 * shutdown began: a channel registered in that pass (the store subscribing, or Lettuce
	 * reconnecting, while the application stops) is never closed, so its socket stays open, its
	 * connect never completes and Lettuce's read buffer is never released. With a quiet period
	 * the loop goes round again, closing it, until nothing ran for 100ms or the timeout passed.
	 */
	static void closeLateConnectionsOnShutdown(LettuceClientConfigurationBuilder builder, Duration shutdownTimeout) {
		Duration leastTimeout = Duration.ofSeconds(1);
		builder.shutdownQuietPeriod(Duration.ofMillis(100))
			.shutdownTimeout((shutdownTimeout.compareTo(leastTimeout) < 0) ? leastTimeout : shutdownTimeout);
	}

	/** {@code keypool.state.store.up}: 1 while Redis is reachable, 0 while working on local state. */
	@Bean
	MeterBinder keypoolStateStoreMeter(RedisKeyStateStore store) {
		return (registry) -> Gauge.builder("keypool.state.store.up", store, (it) -> it.health().connected() ? 1 : 0)
			.description("Whether the key state store reaches Redis (1) or works on local state only (0)")
			.register(registry);
	}

}
