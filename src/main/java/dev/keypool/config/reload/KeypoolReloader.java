package dev.keypool.config.reload;

import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.keypool.config.KeypoolConfiguration;
import dev.keypool.config.KeypoolProperties;
import dev.keypool.config.KeypoolProperties.Pool;
import dev.keypool.config.KeypoolPropertiesValidator;
import dev.keypool.config.PropertyOrigins;
import dev.keypool.config.RouteFactoryNames;
import dev.keypool.config.UnsafeYamlException;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyStateStore;
import dev.keypool.pool.PoolKey;
import dev.keypool.provider.ProviderDialects;

import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.cloud.context.environment.EnvironmentChangeEvent;
import org.springframework.cloud.gateway.route.RouteDefinition;
import org.springframework.context.ApplicationListener;
import org.springframework.core.env.ConfigurableEnvironment;

/**
 * Applies {@code keypool.*} anew after Spring Cloud refreshed the environment
 * ({@code ContextRefresher}, from {@code POST /actuator/refresh} or a changed configuration
 * file, see {@link ConfigSourceWatcher}).
 * <p>
 * The properties are records, which Spring Cloud's rebinder cannot change in place, so they
 * are bound afresh, checked with the same rules as at startup and, only if every rule passes,
 * put in force at once ({@link LiveKeypool}). A configuration with any problem is refused
 * whole: the running one keeps serving and each problem is logged as one ERROR line naming
 * the property, never a value.
 * <p>
 * Beyond the startup rules, a reload must keep the routes serving: one that would remove every
 * route, or leave a pool that a route used without any route (the pool still configured), is
 * refused; taking a pool away together with its routes is allowed.
 * <p>
 * Keys are matched by id. A pool whose configuration is unchanged is kept as it is; a pool
 * whose keys alone changed keeps its sessions, reported limits and model classes
 * ({@link KeyPool#withKeys}); any other changed pool is built anew. Either way its keys find
 * their state again in the store when their id and secret are the same (the state is stored
 * per id and secret fingerprint). The state of a key that is gone, or whose secret changed,
 * is dropped from the store.
 */
public class KeypoolReloader implements ApplicationListener<EnvironmentChangeEvent> {

	private static final Logger logger = LoggerFactory.getLogger(KeypoolReloader.class);

	private static final String ROUTES = "spring.cloud.gateway.server.webflux.routes";

	private final LiveKeypool live;

	private final ConfigurableEnvironment environment;

	private final ProviderDialects dialects;

	private final KeyStateStore store;

	private final Clock clock;

	private final AtomicLong applied = new AtomicLong();

	private final AtomicLong refused = new AtomicLong();

	private final Function<List<RouteDefinition>, List<String>> routeNames;

	/** The routes in force, as the last reload that was not refused (or startup) bound them. */
	private volatile List<RouteDefinition> routes;

	public KeypoolReloader(LiveKeypool live, ConfigurableEnvironment environment, ProviderDialects dialects,
			KeyStateStore store, Clock clock) {
		this(live, environment, dialects, store, clock, (routes) -> List.of());
	}

	/**
	 * @param routeNames checks the filter and predicate names of the routes a reload would put
	 * in force ({@link RouteFactoryNames})
	 */
	public KeypoolReloader(LiveKeypool live, ConfigurableEnvironment environment, ProviderDialects dialects,
			KeyStateStore store, Clock clock, Function<List<RouteDefinition>, List<String>> routeNames) {
		this.routeNames = routeNames;
		this.live = live;
		this.environment = environment;
		this.dialects = dialects;
		this.store = store;
		this.clock = clock;
		this.routes = read().routes();
	}

	@Override
	public void onApplicationEvent(EnvironmentChangeEvent event) {
		reload();
	}

	/** Reloads that were put in force. */
	public long applied() {
		return this.applied.get();
	}

	/** Reloads that were refused, the running configuration kept. */
	public long refused() {
		return this.refused.get();
	}

	/**
	 * Binds and checks {@code keypool.*} from the environment as it is now and puts it in force
	 * if it differs from the running configuration and passes every check.
	 */
	public synchronized Outcome reload() {
		Candidate candidate = read();
		if (!candidate.problems().isEmpty()) {
			return refuse(candidate.problems());
		}
		KeypoolProperties running = this.live.properties();
		this.routes = candidate.routes();
		if (candidate.properties().equals(running)) {
			return Outcome.UNCHANGED;
		}
		apply(running, candidate.properties());
		this.applied.incrementAndGet();
		return Outcome.APPLIED;
	}

	/**
	 * Everything that would make a reload of the environment as it is now refused, one line per
	 * problem; empty when it may be put in force. Checked before a refreshed environment is
	 * published ({@link GuardedContextRefresher}), so a refused one never reaches the routes.
	 */
	public synchronized List<String> problems() {
		return read().problems();
	}

	private Candidate read() {
		KeypoolProperties next;
		List<RouteDefinition> nextRoutes;
		try {
			Binder binder = Binder.get(this.environment);
			next = binder.bindOrCreate("keypool", KeypoolProperties.class);
			nextRoutes = binder.bind(ROUTES, Bindable.listOf(RouteDefinition.class)).orElse(List.of());
		}
		catch (BindException ex) {
			String property = String.valueOf((ex.getProperty() != null) ? ex.getProperty().getName() : ex.getName());
			return new Candidate(null, List.of(),
					List.of(property + ": cannot be read as " + ex.getTarget().getType()));
		}
		List<String> problems = new ArrayList<>(
				KeypoolConfiguration.problems(next, nextRoutes, this.dialects, this.environment));
		if (this.routes != null) {
			problems.addAll(this.routeNames.apply(nextRoutes));
			problems.addAll(routeProblems(this.routes, nextRoutes, next));
		}
		return new Candidate(next, nextRoutes, problems);
	}

	/**
	 * A file cut short loses its last entries, which are often the routes: a reload that leaves
	 * the gateway without any route, or a configured pool without the route that served it,
	 * would answer every request with 404 while looking healthy.
	 */
	static List<String> routeProblems(List<RouteDefinition> before, List<RouteDefinition> after,
			KeypoolProperties next) {
		if (before.isEmpty()) {
			return List.of();
		}
		if (after.isEmpty()) {
			return List.of(ROUTES + ": the reload would remove every route (" + before.size() + " in force)");
		}
		Set<String> served = new TreeSet<>();
		after.forEach((route) -> served.addAll(KeypoolPropertiesValidator.pools(route)));
		List<String> problems = new ArrayList<>();
		Set<String> reported = new TreeSet<>();
		for (RouteDefinition route : before) {
			for (String pool : KeypoolPropertiesValidator.pools(route)) {
				if (next.pools().containsKey(pool) && !served.contains(pool) && reported.add(pool)) {
					problems.add("keypool.pools." + pool + ": the reload would leave this pool, in use by route '"
							+ route.getId() + "', without a route (remove the pool with its routes, or keep one)");
				}
			}
		}
		return problems;
	}

	/** Counts a reload that could not even be read (a configuration file Spring could not parse). */
	void refusedUnreadable(Throwable ex) {
		this.refused.incrementAndGet();
		for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
			if (cause instanceof UnsafeYamlException unsafe) {
				// names the file and the limit only
				logger.error("Configuration reload refused: {}; the running configuration stays", unsafe.getMessage());
				return;
			}
		}
		// the exception's message may quote the file, secrets included: only its type
		logger.error("Configuration reload refused: the configuration could not be read ({}); "
				+ "the running configuration stays", ex.getClass().getName());
	}

	/** Counts a reload that was refused before it was read, for the reason given (one line, no value). */
	void refusedUnread(String reason) {
		this.refused.incrementAndGet();
		logger.error("Configuration reload refused: {}; the running configuration stays", reason);
	}

	/** Counts a look at the configuration files that failed or was refused; it logged why. */
	void countRefused() {
		this.refused.incrementAndGet();
	}

	Outcome refuse(List<String> problems) {
		for (String problem : PropertyOrigins.annotate(problems, this.environment)) {
			logger.error("Configuration reload refused: {}", problem);
		}
		logger.warn("Configuration reload refused with {} problem(s): the running configuration stays",
				problems.size());
		this.refused.incrementAndGet();
		return Outcome.REFUSED;
	}

	private void apply(KeypoolProperties running, KeypoolProperties next) {
		Map<String, KeyPool> before = new LinkedHashMap<>();
		this.live.pools().all().forEach((pool) -> before.put(pool.name(), pool));
		List<KeyPool> pools = new ArrayList<>();
		Changes changes = new Changes();
		next.pools().forEach((name, config) -> {
			KeyPool previous = before.get(name);
			if (previous != null && config.equals(running.pools().get(name))) {
				pools.add(previous);
				return;
			}
			KeyPool built = KeypoolConfiguration.toKeyPool(name, config,
					this.dialects.get(config.provider()).orElseThrow(), this.store, this.clock);
			if (previous != null && sameExceptKeys(config, running.pools().get(name))) {
				// only keys changed: keep the pool's sessions, reported limits and model classes
				built = previous.withKeys(built.keys());
				forgetReportsOfReplacedKeys(previous, built);
			}
			pools.add(built);
			changes.compare(previous, built);
		});
		before.keySet().stream().filter((name) -> !next.pools().containsKey(name)).forEach(changes.removedPools::add);
		this.live.replace(next, pools);
		forgetStaleState(before, pools);
		warnAboutRestartOnly(running, next);
		logger.info("Configuration reloaded: {}", changes.describe(running, next));
	}

	/**
	 * Whether two pool configurations differ in their keys at most. Every record component but
	 * {@code keys} is compared, so a setting added to a pool later counts without a change here.
	 */
	static boolean sameExceptKeys(Pool a, Pool b) {
		if (a == null || b == null) {
			return false;
		}
		for (RecordComponent component : Pool.class.getRecordComponents()) {
			if (component.getName().equals("keys")) {
				continue;
			}
			try {
				Method accessor = component.getAccessor();
				if (!Objects.equals(accessor.invoke(a), accessor.invoke(b))) {
					return false;
				}
			}
			catch (ReflectiveOperationException ex) {
				return false;
			}
		}
		return true;
	}

	/** What a removed key or an old secret reported is not true of the new one. */
	private static void forgetReportsOfReplacedKeys(KeyPool previous, KeyPool next) {
		for (PoolKey old : previous.keys()) {
			PoolKey now = next.key(old.id()).orElse(null);
			if (now == null || !previous.stateId(old).equals(next.stateId(now))) {
				previous.scheduling().rateLimits().forget(old.id());
			}
		}
	}

	/** Drops the stored state of every key (by id and secret) that the new pools no longer have. */
	private void forgetStaleState(Map<String, KeyPool> before, List<KeyPool> after) {
		Map<String, KeyPool> afterByName = new LinkedHashMap<>();
		after.forEach((pool) -> afterByName.put(pool.name(), pool));
		before.forEach((name, old) -> {
			KeyPool current = afterByName.get(name);
			if (current == old) {
				return;
			}
			Set<String> kept = new TreeSet<>();
			if (current != null) {
				current.keys().forEach((key) -> kept.add(current.stateId(key)));
			}
			for (PoolKey key : old.keys()) {
				String stateId = old.stateId(key);
				if (!kept.contains(stateId)) {
					this.store.forget(name, stateId);
				}
			}
		});
	}

	/** Settings read once at startup: a reload leaves them as they were and says so. */
	private static void warnAboutRestartOnly(KeypoolProperties running, KeypoolProperties next) {
		Map<String, Boolean> same = new LinkedHashMap<>();
		same.put("keypool.max-request-body", Objects.equals(running.maxRequestBody(), next.maxRequestBody()));
		same.put("keypool.max-buffered-bytes", Objects.equals(running.maxBufferedBytes(), next.maxBufferedBytes()));
		same.put("keypool.stream-idle-timeout",
				Objects.equals(running.streamIdleTimeout(), next.streamIdleTimeout()));
		same.put("keypool.request-body-timeout",
				Objects.equals(running.requestBodyTimeout(), next.requestBodyTimeout()));
		same.put("keypool.state", Objects.equals(running.state(), next.state()));
		same.put("keypool.reload.interval", Objects.equals(running.reload(), next.reload()));
		same.forEach((property, unchanged) -> {
			if (!unchanged) {
				logger.warn("{} changed: it takes effect at the next restart", property);
			}
		});
	}

	/** A configuration read from the environment, and what is wrong with it. */
	private record Candidate(KeypoolProperties properties, List<RouteDefinition> routes, List<String> problems) {
	}

	/** What a reload did. */
	public enum Outcome {

		/** A changed configuration is in force. */
		APPLIED,

		/** The configuration had problems; the running one stays. */
		REFUSED,

		/** Nothing under {@code keypool.*} changed. */
		UNCHANGED

	}

	/** Key ids and pool names that a reload added, removed or gave a new secret; never a secret. */
	private static final class Changes {

		final Set<String> added = new TreeSet<>();

		final Set<String> removed = new TreeSet<>();

		final Set<String> replaced = new TreeSet<>();

		final Set<String> removedPools = new TreeSet<>();

		void compare(KeyPool previous, KeyPool built) {
			for (PoolKey key : built.keys()) {
				PoolKey old = (previous != null) ? previous.key(key.id()).orElse(null) : null;
				if (old == null) {
					this.added.add(built.name() + "/" + key.id());
				}
				else if (!previous.stateId(old).equals(built.stateId(key))) {
					this.replaced.add(built.name() + "/" + key.id());
				}
			}
			if (previous != null) {
				for (PoolKey key : previous.keys()) {
					if (built.key(key.id()).isEmpty()) {
						this.removed.add(built.name() + "/" + key.id());
					}
				}
			}
		}

		String describe(KeypoolProperties running, KeypoolProperties next) {
			Set<String> clientsBefore = new TreeSet<>();
			running.clients().forEach((client) -> clientsBefore.add(client.id()));
			Set<String> clientsAfter = new TreeSet<>();
			next.clients().forEach((client) -> clientsAfter.add(client.id()));
			return "keys added " + this.added + ", removed " + this.removed + ", with a new secret " + this.replaced
					+ "; pools removed " + this.removedPools + "; clients " + clientsAfter
					+ (clientsAfter.equals(clientsBefore) ? "" : " (were " + clientsBefore + ")");
		}

	}

}
