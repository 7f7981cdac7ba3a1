package dev.keypool.config.reload;

import java.time.Clock;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.binder.MeterBinder;

import dev.keypool.config.KeypoolProperties;
import dev.keypool.config.RouteFactoryNames;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyStateStore;
import dev.keypool.provider.ProviderDialects;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.cloud.autoconfigure.RefreshAutoConfiguration.RefreshProperties;
import org.springframework.cloud.context.refresh.ConfigDataContextRefresher;
import org.springframework.cloud.context.scope.refresh.RefreshScope;
import org.springframework.cloud.gateway.filter.factory.GatewayFilterFactory;
import org.springframework.cloud.gateway.handler.predicate.RoutePredicateFactory;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.cloud.context.refresh.ContextRefresher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.ConfigurableEnvironment;

/**
 * Live reload of {@code keypool.*}: the configuration in force ({@link LiveKeypool}), what
 * applies a refreshed environment ({@link KeypoolReloader}), what notices changed files
 * ({@link ConfigSourceWatcher}) and {@code keypool.config.reloads}.
 */
@Configuration(proxyBeanMethods = false)
public class ReloadConfiguration {

	@Bean
	LiveKeypool liveKeypool(KeypoolProperties properties, KeyPools pools, ProviderDialects dialects) {
		return new LiveKeypool(properties, pools, dialects);
	}

	@Bean
	KeypoolReloader keypoolReloader(LiveKeypool live, ConfigurableEnvironment environment, ProviderDialects dialects,
			KeyStateStore store, Clock clock, ObjectProvider<GatewayFilterFactory<?>> filters,
			ObjectProvider<RoutePredicateFactory<?>> predicates) {
		return new KeypoolReloader(live, environment, dialects, store, clock,
				(routes) -> RouteFactoryNames.of(filters.orderedStream(), predicates.orderedStream()).problems(routes));
	}

	/**
	 * Spring Cloud's refresher, checking a refreshed environment before it is published: what
	 * {@code POST /actuator/refresh} and the file watcher run.
	 */
	@Bean
	@ConditionalOnProperty(name = "spring.cloud.refresh.enabled", matchIfMissing = true)
	ConfigDataContextRefresher keypoolContextRefresher(ConfigurableApplicationContext context, RefreshScope scope,
			RefreshProperties properties, ObjectProvider<KeypoolReloader> reloader) {
		return new GuardedContextRefresher(context, scope, properties, reloader);
	}

	/**
	 * Refreshes through Spring Cloud's {@link ContextRefresher}, as {@code POST /actuator/refresh}
	 * does: it reads the configuration files and config trees again, publishes the changes
	 * ({@code EnvironmentChangeEvent}, which {@link KeypoolReloader} applies) and has the routes
	 * refreshed.
	 */
	@Bean
	ConfigSourceWatcher keypoolConfigSourceWatcher(ConfigurableEnvironment environment,
			ObjectProvider<ContextRefresher> refresher, KeypoolReloader reloader, KeypoolProperties properties) {
		Runnable refresh = () -> {
			ContextRefresher contextRefresher = refresher.getIfAvailable();
			if (contextRefresher == null) {
				reloader.reload();
				return;
			}
			try {
				contextRefresher.refresh();
			}
			catch (RuntimeException ex) {
				reloader.refusedUnreadable(ex);
			}
		};
		return new ConfigSourceWatcher(ConfigSourceWatcher.locations(environment), refresh, reloader::countRefused,
				properties.reload().interval());
	}

	/** {@code keypool_config_reloads_total{outcome="applied|refused"}}. */
	@Bean
	MeterBinder keypoolConfigReloadsMeter(KeypoolReloader reloader) {
		return (registry) -> {
			FunctionCounter.builder("keypool.config.reloads", reloader, KeypoolReloader::applied)
				.description("Configuration reloads, by outcome: applied, or refused with the running one kept")
				.tag("outcome", "applied")
				.register(registry);
			FunctionCounter.builder("keypool.config.reloads", reloader, KeypoolReloader::refused)
				.description("Configuration reloads, by outcome: applied, or refused with the running one kept")
				.tag("outcome", "refused")
				.register(registry);
		};
	}

}
