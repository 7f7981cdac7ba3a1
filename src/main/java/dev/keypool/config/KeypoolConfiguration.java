package dev.keypool.config;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import reactor.core.scheduler.Schedulers;

import dev.keypool.budget.ClientBudgets;
import dev.keypool.config.KeypoolProperties.Key;
import dev.keypool.config.KeypoolProperties.Pool;
import dev.keypool.config.reload.LiveKeypool;
import dev.keypool.gateway.BufferBudget;
import dev.keypool.gateway.CallerResolver;
import dev.keypool.gateway.KeyFailoverGatewayFilterFactory;
import dev.keypool.gateway.ObservationOnCancelFilter;
import dev.keypool.gateway.PoolBinding;
import dev.keypool.gateway.PoolBindings;
import dev.keypool.gateway.PooledRequestHeadersFilter;
import dev.keypool.gateway.WaitTimers;
import dev.keypool.pool.FailoverPolicy;
import dev.keypool.pool.InMemoryKeyStateStore;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyStateStore;
import dev.keypool.pool.PoolKey;
import dev.keypool.pool.RateLimitBook;
import dev.keypool.pool.Scheduling;
import dev.keypool.pool.SessionAffinity;
import dev.keypool.provider.KeyAuthorizer;
import dev.keypool.provider.KeyCredentials;
import dev.keypool.provider.ProviderDialect;
import dev.keypool.provider.ProviderDialects;
import dev.keypool.usage.UsageAccounting;
import dev.keypool.tracing.PooledRequestTracing;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.cloud.gateway.config.GatewayProperties;
import org.springframework.cloud.gateway.filter.factory.GatewayFilterFactory;
import org.springframework.cloud.gateway.handler.predicate.RoutePredicateFactory;
import org.springframework.cloud.gateway.route.RouteDefinition;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * Builds the pools from {@link KeypoolProperties} after checking the whole configuration,
 * and registers the {@code KeyFailover} filter.
 */
@Configuration(proxyBeanMethods = false)
public class KeypoolConfiguration {

	private static final Log logger = LogFactory.getLog(KeypoolConfiguration.class);

	@Bean
	@ConditionalOnMissingBean
	Clock keypoolClock() {
		return Clock.systemUTC();
	}

	@Bean
	@ConditionalOnMissingBean
	ProviderDialects providerDialects(Clock clock) {
		// Vertex token exchanges are blocking HTTP calls: on Reactor's bounded elastic threads.
		return ProviderDialects.builtIn(clock, (task) -> Schedulers.boundedElastic().schedule(task));
	}

	/**
	 * Per-process state, unless {@code keypool.state.store} names a shared store. A property
	 * condition, not only a missing-bean one: the shared store's configuration is a user
	 * configuration too and may be processed after this one.
	 */
	@Bean
	@ConditionalOnProperty(name = "keypool.state.store", havingValue = "memory", matchIfMissing = true)
	@ConditionalOnMissingBean(KeyStateStore.class)
	KeyStateStore inMemoryKeyStateStore() {
		return new InMemoryKeyStateStore();
	}

	@Bean
	KeyPools keyPools(KeypoolProperties properties, GatewayProperties gateway, ProviderDialects dialects,
			KeyStateStore store, Clock clock, Environment environment) {
		List<String> problems = problems(properties, gateway.getRoutes(), dialects, environment);
		if (!problems.isEmpty()) {
			throw new InvalidKeypoolConfigurationException(problems, PropertyOrigins.annotate(problems, environment));
		}
		if (properties.pools().isEmpty()) {
			logger.warn("No keypool.pools configured: KeyFailover routes have nothing to serve");
		}
		if (KeypoolEnvironmentChecks.hasRoutesUnderOldPrefix(environment)) {
			logger.warn("Routes under spring.cloud.gateway.routes are ignored by this Spring Cloud Gateway version: "
					+ "move them to spring.cloud.gateway.server.webflux.routes");
		}
		new KeypoolPropertiesValidator(dialects).warnings(properties, gateway.getRoutes())
			.forEach(logger::warn);
		List<KeyPool> pools = new ArrayList<>();
		properties.pools()
			.forEach((name, pool) -> pools
				.add(toKeyPool(name, pool, dialects.get(pool.provider()).orElseThrow(), store, clock)));
		return new KeyPools(pools);
	}

	/**
	 * Everything wrong with the configuration, one line per property, naming it and never a
	 * value; empty when it can run. Used at startup and for every reload.
	 */
	public static List<String> problems(KeypoolProperties properties, List<RouteDefinition> routes,
			ProviderDialects dialects, Environment environment) {
		KeypoolPropertiesValidator validator = new KeypoolPropertiesValidator(dialects,
				() -> NoPoolsExplanation.explain(environment));
		List<String> problems = new ArrayList<>(KeypoolEnvironmentChecks.problems(environment));
		for (String unknown : UnknownKeypoolProperties.problems(environment)) {
			if (!underOneNamed(unknown, problems)) {
				problems.add(unknown);
			}
		}
		problems.addAll(validator.validate(properties, routes));
		return problems;
	}

	/** One line per property: a property below one already named is not named again. */
	private static boolean underOneNamed(String problem, List<String> problems) {
		for (String named : problems) {
			String property = named.substring(0, Math.max(0, named.indexOf(": ")));
			if (!property.isEmpty() && (problem.startsWith(property + ".") || problem.startsWith(property + "["))) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Stops startup when a route names a filter or predicate no factory has: checked once every
	 * factory exists, which the pools cannot wait for (the {@code KeyFailover} factory needs them).
	 */
	@Bean
	static SmartInitializingSingleton keypoolRouteFactoryNamesCheck(ObjectProvider<GatewayProperties> gateway,
			ObjectProvider<GatewayFilterFactory<?>> filters, ObjectProvider<RoutePredicateFactory<?>> predicates,
			Environment environment) {
		return () -> {
			GatewayProperties routes = gateway.getIfAvailable();
			if (routes == null) {
				return;
			}
			List<String> problems = RouteFactoryNames.of(filters.orderedStream(), predicates.orderedStream())
				.problems(routes.getRoutes());
			if (!problems.isEmpty()) {
				throw new InvalidKeypoolConfigurationException(problems,
						PropertyOrigins.annotate(problems, environment));
			}
		};
	}

	/** Takes the pools only to be created after the configuration was checked. */
	@Bean
	BufferBudget requestBodyBufferBudget(KeypoolProperties properties, KeyPools validatedPools) {
		return new BufferBudget(properties.maxBufferedBytes().toBytes());
	}

	/** Serves the pools and clients of the configuration in force, see {@link LiveKeypool}. */
	@Bean
	KeyFailoverGatewayFilterFactory keyFailoverGatewayFilterFactory(KeypoolProperties properties, LiveKeypool live,
			BufferBudget bufferBudget, WaitTimers waitTimers, UsageAccounting usage, ClientBudgets budgets,
			PooledRequestTracing tracing) {
		return new KeyFailoverGatewayFilterFactory(live::bindings, properties.maxRequestBody(), bufferBudget,
				properties.streamIdleTimeout(), properties.requestBodyTimeout(), waitTimers, usage, budgets, tracing);
	}

	/** What the {@code KeyFailover} filter needs of one configuration: pools and client tokens. */
	public static PoolBindings poolBindings(KeypoolProperties properties, Collection<KeyPool> pools,
			ProviderDialects dialects) {
		return poolBindings(properties, pools, dialects, null);
	}

	/**
	 * The same, keeping the authorizer of every key whose credentials did not change since
	 * {@code previous}: a Vertex key keeps its cached access token across a reload.
	 */
	public static PoolBindings poolBindings(KeypoolProperties properties, Collection<KeyPool> pools,
			ProviderDialects dialects, PoolBindings previous) {
		Map<String, PoolBinding> bindings = new LinkedHashMap<>();
		for (KeyPool pool : pools) {
			Pool config = properties.pools().get(pool.name());
			ProviderDialect dialect = dialects.get(pool.provider()).orElseThrow();
			PoolBinding before = (previous != null) ? previous.pools().get(pool.name()) : null;
			Map<String, KeyAuthorizer> authorizers = new LinkedHashMap<>();
			config.keys().forEach((key) -> {
				KeyAuthorizer kept = (before != null) ? before.unchangedAuthorizer(pool, key.id()) : null;
				authorizers.put(key.id(), (kept != null) ? kept : dialect.authorizer(credentials(key)));
			});
			bindings.put(pool.name(),
					new PoolBinding(pool, dialect, config.byok(), config.allowAnonymous(), authorizers));
		}
		Map<String, String> tokensByClientId = new LinkedHashMap<>();
		properties.clients().forEach((client) -> tokensByClientId.put(client.id(), client.token()));
		return new PoolBindings(bindings, new CallerResolver(tokensByClientId));
	}

	/** Times requests held for a key to come back ({@code max-wait}). */
	@Bean(destroyMethod = "dispose")
	WaitTimers keypoolWaitTimers() {
		return new WaitTimers();
	}

	@Bean
	ObservationOnCancelFilter observationOnCancelFilter() {
		return new ObservationOnCancelFilter();
	}

	@Bean
	PooledRequestHeadersFilter pooledRequestHeadersFilter() {
		return new PooledRequestHeadersFilter();
	}

	/** A configured key's credentials, for its provider's dialect. */
	static KeyCredentials credentials(Key key) {
		return new KeyCredentials(key.id(), key.secret(), key.accessKeyId(), key.secretAccessKey(),
				key.sessionToken(), key.region(), key.credentials(), key.project());
	}

	/** Builds one pool from its configuration; at startup and for a pool a reload changed. */
	public static KeyPool toKeyPool(String name, Pool pool, ProviderDialect dialect, KeyStateStore store,
			Clock clock) {
		List<PoolKey> keys = new ArrayList<>();
		for (Key key : pool.keys()) {
			KeyCredentials credentials = credentials(key);
			keys.add(new PoolKey(key.id(), dialect.fingerprint(credentials), key.group(),
					dialect.hintSource(credentials)));
		}
		FailoverPolicy policy = new FailoverPolicy(pool.cooldownOn(), pool.disableOn(), pool.defaultCooldown(),
				pool.maxCooldown(), pool.minCooldown());
		return new KeyPool(name, pool.provider(), keys, policy, store, clock, scheduling(pool, clock));
	}

	private static Scheduling scheduling(Pool pool, Clock clock) {
		RateLimitBook rateLimits = new RateLimitBook();
		SessionAffinity sessions = pool.stickySessions() ? new CaffeineSessionAffinity(clock,
				CaffeineSessionAffinity.MAXIMUM_SIZE, CaffeineSessionAffinity.IDLE) : SessionAffinity.NONE;
		return new Scheduling(Strategies.of(pool.strategy()).apply(rateLimits), sessions,
				pool.stickySessions() ? pool.sessionHeader() : Scheduling.DEFAULT_SESSION_HEADER, rateLimits,
				pool.proactive(), pool.minRemainingTokens(), pool.maxWait(),
				pool.maxWaiting());
	}

}
