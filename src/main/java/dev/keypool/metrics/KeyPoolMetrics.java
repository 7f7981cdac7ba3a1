package dev.keypool.metrics;

import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;

import dev.keypool.pool.AttemptOutcome;
import dev.keypool.pool.CallerMode;
import dev.keypool.pool.Exhaustion;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPoolListener;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyStateChange;
import dev.keypool.pool.KeyStatus;
import dev.keypool.pool.ModelClasses;
import dev.keypool.pool.PoolKey;
import dev.keypool.pool.RateLimitReport;
import dev.keypool.pool.RateLimitResource;
import dev.keypool.pool.WaitOutcome;

/**
 * Key pool metrics, in the style of resilience4j's circuit-breaker metrics: gauges read the
 * live key state (one 1/0 series per state), counters are driven by the pool's events.
 * Every series for a configured key, attempt outcome, failover reason, exhaustion outcome
 * and known caller exists from startup, so dashboards and alerts see zeros, not gaps. After
 * the pools are replaced (a configuration reload), the series of added keys, pools and clients
 * are registered and those of removed ones removed, so no stale series stays behind; gauges
 * look the key up by name on every scrape, so a key with a new secret reports its new state.
 * <p>
 * Tags are bounded: pool names, key ids and client ids come from configuration; the other
 * tag values are enums. Never a secret, a token, a path or a request id.
 */
public class KeyPoolMetrics implements MeterBinder {

	/** Every meter of this binder is named under it. */
	private static final String KEYPOOL_PREFIX = "keypool.";

	static final String KEY_STATE = "keypool.key.state";

	static final String COOLDOWN_REMAINING = "keypool.key.cooldown.remaining";

	static final String ATTEMPTS = "keypool.upstream.attempts";

	static final String FAILOVERS = "keypool.failovers";

	static final String EXHAUSTIONS = "keypool.exhaustions";

	static final String REQUESTS = "keypool.requests";

	static final String REQUEST_ATTEMPTS = "keypool.request.attempts";

	static final String MODEL_COOLDOWN_REMAINING = "keypool.model.cooldown.remaining";

	static final String RATELIMIT_REMAINING = "keypool.ratelimit.remaining";

	static final String RATELIMIT_LIMIT = "keypool.ratelimit.limit";

	static final String PROACTIVE_COOLDOWNS = "keypool.proactive.cooldowns";

	static final String WAITS = "keypool.waits";

	/** The client tag of pooled requests that sent no credential (allow-anonymous pools). */
	static final String ANONYMOUS_CLIENT = "anonymous";

	/** The client tag of requests that brought their own key. */
	static final String BYOK_CLIENT = "byok";

	private static final List<AttemptOutcome> FAILOVER_REASONS = List.of(AttemptOutcome.RATE_LIMITED,
			AttemptOutcome.AUTH_FAILED);

	private final KeyPools pools;

	private final Supplier<? extends Collection<String>> clientIds;

	/** Every registry bound so far, with what was registered on it for which pool and key. */
	private final List<Binding> bindings = new CopyOnWriteArrayList<>();

	/**
	 * @param pools the pools to observe
	 * @param clientIds the configured client ids, whose pooled request series are registered
	 * up front
	 */
	public KeyPoolMetrics(KeyPools pools, Collection<String> clientIds) {
		this(pools, () -> clientIds);
	}

	/**
	 * @param pools the live pools; after each replacement the series of added keys, pools and
	 * clients are registered and those of removed ones are removed
	 * @param clientIds the currently configured client ids
	 */
	public KeyPoolMetrics(KeyPools pools, Supplier<? extends Collection<String>> clientIds) {
		this.pools = pools;
		this.clientIds = clientIds;
		pools.onReplaced(this::reconcile);
	}

	@Override
	public void bindTo(MeterRegistry registry) {
		Binding binding = new Binding(registry, this.pools);
		this.bindings.add(binding);
		binding.reconcile(this.pools.all(), clientIds());
		this.pools.addListener(binding.recorder);
	}

	/** Registers the series of keys, pools and clients that appeared, removes the gone ones'. */
	private void reconcile() {
		for (Binding binding : this.bindings) {
			binding.reconcile(this.pools.all(), clientIds());
		}
	}

	private Set<String> clientIds() {
		Set<String> ids = new LinkedHashSet<>(this.clientIds.get());
		ids.add(ANONYMOUS_CLIENT);
		return ids;
	}

	/** What one registry holds: the pools, keys and clients whose series are registered there. */
	private static final class Binding {

		private final MeterRegistry registry;

		private final KeyPools pools;

		private final Recorder recorder;

		/** pool → key ids with registered series. */
		private final Map<String, Set<String>> keys = new HashMap<>();

		/** pool → client ids with registered request series. */
		private final Map<String, Set<String>> clients = new HashMap<>();

		Binding(MeterRegistry registry, KeyPools pools) {
			this.registry = registry;
			this.pools = pools;
			this.recorder = new Recorder(registry, pools);
		}

		synchronized void reconcile(Collection<KeyPool> current, Set<String> clientIds) {
			Set<String> poolNames = new HashSet<>();
			for (KeyPool pool : current) {
				poolNames.add(pool.name());
				if (!this.keys.containsKey(pool.name())) {
					bindPool(pool.name());
				}
				Set<String> bound = this.keys.computeIfAbsent(pool.name(), (name) -> new HashSet<>());
				Set<String> ids = new HashSet<>();
				for (PoolKey key : pool.keys()) {
					ids.add(key.id());
					if (bound.add(key.id())) {
						bindKey(pool, key.id());
					}
				}
				for (String gone : List.copyOf(bound)) {
					if (!ids.contains(gone)) {
						bound.remove(gone);
						remove(Tags.of("pool", pool.name(), "key", gone));
						this.recorder.forgetKey(pool.name(), gone);
					}
				}
				Set<String> boundClients = this.clients.computeIfAbsent(pool.name(), (name) -> new HashSet<>());
				for (String clientId : clientIds) {
					if (boundClients.add(clientId)) {
						requests(this.registry, pool.name(), CallerMode.POOLED, clientId);
					}
				}
				for (String gone : List.copyOf(boundClients)) {
					if (!clientIds.contains(gone)) {
						boundClients.remove(gone);
						remove(Tags.of("pool", pool.name(), "mode", CallerMode.POOLED.tagValue(), "client", gone));
					}
				}
			}
			for (String gone : List.copyOf(this.keys.keySet())) {
				if (!poolNames.contains(gone)) {
					this.keys.remove(gone);
					this.clients.remove(gone);
					remove(Tags.of("pool", gone));
					this.recorder.forgetPool(gone);
				}
			}
		}

		private void bindPool(String pool) {
			for (AttemptOutcome reason : FAILOVER_REASONS) {
				failovers(this.registry, pool, reason);
			}
			exhaustions(this.registry, pool, "transient");
			exhaustions(this.registry, pool, "permanent");
			requests(this.registry, pool, CallerMode.BYOK, BYOK_CLIENT);
			requestAttempts(this.registry, pool);
			for (WaitOutcome outcome : WaitOutcome.values()) {
				waits(this.registry, pool, outcome);
			}
		}

		private void bindKey(KeyPool pool, String keyId) {
			String poolName = pool.name();
			Tags tags = Tags.of("pool", poolName, "key", keyId);
			for (KeyStatus status : KeyStatus.values()) {
				Gauge.builder(KEY_STATE, this.pools, (p) -> stateGauge(p, poolName, keyId, status))
					.description("Whether the key is in this state (1) or not (0); one series per state")
					.tags(tags)
					.tag("state", status.wireName())
					.strongReference(true)
					.register(this.registry);
			}
			Gauge.builder(COOLDOWN_REMAINING, this.pools, (p) -> cooldownRemainingSeconds(p, poolName, keyId))
				.description("Seconds until the key's cooldown ends; 0 when it is not cooling down")
				.baseUnit("seconds")
				.tags(tags)
				.strongReference(true)
				.register(this.registry);
			for (AttemptOutcome outcome : AttemptOutcome.values()) {
				attempts(this.registry, poolName, keyId, outcome);
			}
			proactiveCooldowns(this.registry, poolName, keyId);
			this.recorder.modelCooldownGauge(poolName, keyId, ModelClasses.KEY_WIDE);
			for (String modelClass : new TreeSet<>(pool.modelClasses().named())) {
				this.recorder.modelCooldownGauge(poolName, keyId, modelClass);
			}
		}

		/** Removes every {@code keypool.*} series carrying all of the tags. */
		private void remove(Tags tags) {
			for (Meter meter : List.copyOf(this.registry.getMeters())) {
				if (hasAll(meter, tags)) {
					this.registry.remove(meter);
				}
			}
		}

		private static boolean hasAll(Meter meter, Tags tags) {
			List<Tag> meterTags = meter.getId().getTags();
			for (Tag tag : tags) {
				if (!meterTags.contains(tag)) {
					return false;
				}
			}
			return meter.getId().getName().startsWith(KEYPOOL_PREFIX);
		}

	}

	/** The key as configured now, or {@code null} while its series wait to be removed. */
	private static PoolKeyOf find(KeyPools pools, String poolName, String keyId) {
		KeyPool pool = pools.get(poolName).orElse(null);
		PoolKey key = (pool != null) ? pool.key(keyId).orElse(null) : null;
		return (key != null) ? new PoolKeyOf(pool, key) : null;
	}

	private static double stateGauge(KeyPools pools, String poolName, String keyId, KeyStatus status) {
		PoolKeyOf found = find(pools, poolName, keyId);
		if (found == null) {
			return Double.NaN;
		}
		return (found.pool().status(found.key()) == status) ? 1 : 0;
	}

	/** The latest running cooldown of any scope: the key is held back for some class until then. */
	private static double cooldownRemainingSeconds(KeyPools pools, String poolName, String keyId) {
		PoolKeyOf found = find(pools, poolName, keyId);
		if (found == null) {
			return Double.NaN;
		}
		Instant now = found.pool().clock().instant();
		KeyPool.Cooldown latest = found.pool().latestCooldown(found.key(), now);
		return (latest != null) ? latest.remainingAt(now).toMillis() / 1000.0 : 0;
	}

	private static double modelCooldownRemainingSeconds(KeyPools pools, String poolName, String keyId,
			String modelClass) {
		PoolKeyOf found = find(pools, poolName, keyId);
		if (found == null) {
			return Double.NaN;
		}
		return found.pool()
			.state(found.key(), modelClass)
			.cooldownRemainingAt(found.pool().clock().instant())
			.toMillis() / 1000.0;
	}

	private static double reading(KeyPools pools, String poolName, String keyId, String modelClass,
			RateLimitResource resource, boolean limit) {
		KeyPool pool = pools.get(poolName).orElse(null);
		RateLimitReport report = (pool != null) ? pool.scheduling().rateLimits().get(keyId, modelClass) : null;
		RateLimitReport.Reading reading = (report != null) ? report.readings().get(resource) : null;
		if (reading == null) {
			return Double.NaN;
		}
		if (limit) {
			return (reading.limit() != null) ? reading.limit() : Double.NaN;
		}
		return reading.remaining();
	}

	private record PoolKeyOf(KeyPool pool, PoolKey key) {
	}

	private static Counter proactiveCooldowns(MeterRegistry registry, String pool, String keyId) {
		return Counter.builder(PROACTIVE_COOLDOWNS)
			.description("Cooldowns set because the key's rate-limit headers said its next request would be refused")
			.tags("pool", pool, "key", keyId)
			.register(registry);
	}

	private static Counter waits(MeterRegistry registry, String pool, WaitOutcome outcome) {
		return Counter.builder(WAITS)
			.description("Requests held for a key to come back (max-wait), by how the wait ended")
			.tags("pool", pool, "outcome", outcome.tagValue())
			.register(registry);
	}

	private static Counter attempts(MeterRegistry registry, String pool, String keyId, AttemptOutcome outcome) {
		return Counter.builder(ATTEMPTS)
			.description("Upstream attempts with a pool key, by outcome")
			.tags("pool", pool, "key", keyId, "outcome", outcome.tagValue())
			.register(registry);
	}

	private static Counter failovers(MeterRegistry registry, String pool, AttemptOutcome reason) {
		return Counter.builder(FAILOVERS)
			.description("Pooled requests moved on to the next key, by why the key failed")
			.tags("pool", pool, "reason", reason.tagValue())
			.register(registry);
	}

	private static Counter exhaustions(MeterRegistry registry, String pool, String outcome) {
		return Counter.builder(EXHAUSTIONS)
			.description("Pooled requests that found no key left: transient (429) or permanent (502)")
			.tags("pool", pool, "outcome", outcome)
			.register(registry);
	}

	private static Counter requests(MeterRegistry registry, String pool, CallerMode mode, String clientId) {
		return Counter.builder(REQUESTS)
			.description("Requests accepted for the pool, by mode (pooled or byok) and configured client id")
			.tags("pool", pool, "mode", mode.tagValue(), "client", clientId)
			.register(registry);
	}

	private static DistributionSummary requestAttempts(MeterRegistry registry, String pool) {
		return DistributionSummary.builder(REQUEST_ATTEMPTS)
			.description("Upstream attempts per pooled request; above 1 means failover happened")
			.tags("pool", pool)
			.serviceLevelObjectives(1, 2, 3)
			.register(registry);
	}

	/**
	 * Turns the pools' events into counter increments on one registry, and registers the
	 * per-model-class gauges the first time a class shows up for a key. Classes are bounded
	 * by the pool (16 named, {@code other} and {@code *}), so these series are too.
	 */
	private static final class Recorder implements KeyPoolListener {

		private final MeterRegistry registry;

		private final KeyPools pools;

		private final Set<String> modelGauges = ConcurrentHashMap.newKeySet();

		private final Set<String> rateLimitGauges = ConcurrentHashMap.newKeySet();

		Recorder(MeterRegistry registry, KeyPools pools) {
			this.registry = registry;
			this.pools = pools;
		}

		@Override
		public void onStateChange(KeyStateChange change) {
			modelCooldownGauge(change.pool(), change.keyId(), change.modelClass());
		}

		/**
		 * One series per (key, class), registered the first time the class cools the key here,
		 * and up front for the key-wide scope and the classes known from the start, so a replica
		 * that learns those cooldowns from another one through Redis shows them too.
		 */
		void modelCooldownGauge(String poolName, String keyId, String modelClass) {
			if (find(this.pools, poolName, keyId) == null) {
				// a request of a replaced configuration: its key's series are gone for good
				return;
			}
			if (this.modelGauges.add(poolName + '\u0000' + keyId + '\u0000' + modelClass)) {
				Gauge.builder(MODEL_COOLDOWN_REMAINING, this.pools,
						(p) -> modelCooldownRemainingSeconds(p, poolName, keyId, modelClass))
					.description("Seconds until the key's cooldown for the model class ends (* = every class)")
					.baseUnit("seconds")
					.tags("pool", poolName, "key", keyId, "model_class", modelClass)
					.strongReference(true)
					.register(this.registry);
			}
		}

		void forgetKey(String poolName, String keyId) {
			String prefix = poolName + '\u0000' + keyId + '\u0000';
			this.modelGauges.removeIf((name) -> name.startsWith(prefix));
			this.rateLimitGauges.removeIf((name) -> name.startsWith(prefix));
		}

		void forgetPool(String poolName) {
			String prefix = poolName + '\u0000';
			this.modelGauges.removeIf((name) -> name.startsWith(prefix));
			this.rateLimitGauges.removeIf((name) -> name.startsWith(prefix));
		}

		@Override
		public void onRateLimitReport(String poolName, String keyId, String modelClass, RateLimitReport report) {
			if (find(this.pools, poolName, keyId) == null) {
				return;
			}
			for (RateLimitResource resource : report.readings().keySet()) {
				if (!this.rateLimitGauges
					.add(poolName + '\u0000' + keyId + '\u0000' + modelClass + '\u0000' + resource.wireName())) {
					continue;
				}
				Tags tags = Tags.of("pool", poolName, "key", keyId, "model_class", modelClass, "resource",
						resource.wireName());
				Gauge.builder(RATELIMIT_REMAINING, this.pools,
						(p) -> reading(p, poolName, keyId, modelClass, resource, false))
					.description("What the key last reported remaining of the resource for the model class")
					.tags(tags)
					.strongReference(true)
					.register(this.registry);
				Gauge.builder(RATELIMIT_LIMIT, this.pools, (p) -> reading(p, poolName, keyId, modelClass, resource, true))
					.description("The key's last reported limit of the resource for the model class")
					.tags(tags)
					.strongReference(true)
					.register(this.registry);
			}
		}

		@Override
		public void onProactiveCooldown(String poolName, String keyId) {
			if (find(this.pools, poolName, keyId) == null) {
				return;
			}
			proactiveCooldowns(this.registry, poolName, keyId).increment();
		}

		@Override
		public void onWait(String poolName, WaitOutcome outcome) {
			if (this.pools.get(poolName).isEmpty()) {
				return;
			}
			waits(this.registry, poolName, outcome).increment();
		}

		@Override
		public void onRequest(String pool, CallerMode mode, String clientId) {
			if (this.pools.get(pool).isEmpty()) {
				return;
			}
			requests(this.registry, pool, mode, clientId).increment();
		}

		@Override
		public void onAttempt(String pool, String keyId, AttemptOutcome outcome) {
			if (find(this.pools, pool, keyId) == null) {
				// the end of a request that started before its key was removed: no series comes back
				return;
			}
			attempts(this.registry, pool, keyId, outcome).increment();
		}

		@Override
		public void onFailover(String pool, AttemptOutcome reason) {
			if (this.pools.get(pool).isEmpty()) {
				return;
			}
			failovers(this.registry, pool, reason).increment();
		}

		@Override
		public void onExhausted(String pool, Exhaustion exhaustion) {
			if (this.pools.get(pool).isEmpty()) {
				return;
			}
			exhaustions(this.registry, pool, (exhaustion instanceof Exhaustion.Permanent) ? "permanent" : "transient")
				.increment();
		}

		@Override
		public void onPooledRequestCompleted(String pool, int attempts) {
			if (this.pools.get(pool).isEmpty()) {
				return;
			}
			requestAttempts(this.registry, pool).record(attempts);
		}

	}

}
