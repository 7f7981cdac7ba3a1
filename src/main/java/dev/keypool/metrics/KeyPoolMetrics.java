package dev.keypool.metrics;

import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
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
 * and known caller exists from startup, so dashboards and alerts see zeros, not gaps.
 * <p>
 * Tags are bounded: pool names, key ids and client ids come from configuration; the other
 * tag values are enums. Never a secret, a token, a path or a request id.
 */
public class KeyPoolMetrics implements MeterBinder {

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

	private final Set<String> clientIds;

	/**
	 * @param pools the pools to observe
	 * @param clientIds the configured client ids, whose pooled request series are registered
	 * up front
	 */
	public KeyPoolMetrics(KeyPools pools, Collection<String> clientIds) {
		this.pools = pools;
		this.clientIds = new LinkedHashSet<>(clientIds);
		this.clientIds.add(ANONYMOUS_CLIENT);
	}

	@Override
	public void bindTo(MeterRegistry registry) {
		for (KeyPool pool : this.pools.all()) {
			for (PoolKey key : pool.keys()) {
				bindKey(registry, pool, key);
			}
			for (AttemptOutcome reason : FAILOVER_REASONS) {
				failovers(registry, pool.name(), reason);
			}
			exhaustions(registry, pool.name(), "transient");
			exhaustions(registry, pool.name(), "permanent");
			for (String clientId : this.clientIds) {
				requests(registry, pool.name(), CallerMode.POOLED, clientId);
			}
			requests(registry, pool.name(), CallerMode.BYOK, BYOK_CLIENT);
			requestAttempts(registry, pool.name());
			for (WaitOutcome outcome : WaitOutcome.values()) {
				waits(registry, pool.name(), outcome);
			}
			Recorder recorder = new Recorder(registry, pool);
			for (PoolKey key : pool.keys()) {
				recorder.modelCooldownGauge(key.id(), ModelClasses.KEY_WIDE);
				for (String modelClass : new TreeSet<>(pool.modelClasses().named())) {
					recorder.modelCooldownGauge(key.id(), modelClass);
				}
			}
			pool.addListener(recorder);
		}
	}

	private static void bindKey(MeterRegistry registry, KeyPool pool, PoolKey key) {
		Tags tags = Tags.of("pool", pool.name(), "key", key.id());
		for (KeyStatus status : KeyStatus.values()) {
			Gauge.builder(KEY_STATE, pool, (p) -> (p.status(key) == status) ? 1 : 0)
				.description("Whether the key is in this state (1) or not (0); one series per state")
				.tags(tags)
				.tag("state", status.wireName())
				.strongReference(true)
				.register(registry);
		}
		Gauge.builder(COOLDOWN_REMAINING, pool, (p) -> cooldownRemainingSeconds(p, key))
			.description("Seconds until the key's cooldown ends; 0 when it is not cooling down")
			.baseUnit("seconds")
			.tags(tags)
			.strongReference(true)
			.register(registry);
		for (AttemptOutcome outcome : AttemptOutcome.values()) {
			attempts(registry, pool.name(), key.id(), outcome);
		}
		proactiveCooldowns(registry, pool.name(), key.id());
	}

	/** The latest running cooldown of any scope: the key is held back for some class until then. */
	private static double cooldownRemainingSeconds(KeyPool pool, PoolKey key) {
		Instant now = pool.clock().instant();
		KeyPool.Cooldown latest = pool.latestCooldown(key, now);
		return (latest != null) ? latest.remainingAt(now).toMillis() / 1000.0 : 0;
	}

	private static double modelCooldownRemainingSeconds(KeyPool pool, String keyId, String modelClass) {
		return pool.store()
			.get(pool.name(), keyId, modelClass)
			.cooldownRemainingAt(pool.clock().instant())
			.toMillis() / 1000.0;
	}

	private static double reading(KeyPool pool, String keyId, String modelClass, RateLimitResource resource,
			boolean limit) {
		RateLimitReport report = pool.scheduling().rateLimits().get(keyId, modelClass);
		RateLimitReport.Reading reading = (report != null) ? report.readings().get(resource) : null;
		if (reading == null) {
			return Double.NaN;
		}
		if (limit) {
			return (reading.limit() != null) ? reading.limit() : Double.NaN;
		}
		return reading.remaining();
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
	 * Turns one pool's events into counter increments on one registry, and registers the
	 * per-model-class gauges the first time a class shows up for a key. Classes are bounded
	 * by the pool (16 named, {@code other} and {@code *}), so these series are too.
	 */
	private static final class Recorder implements KeyPoolListener {

		private final MeterRegistry registry;

		private final KeyPool pool;

		private final Set<String> modelGauges = ConcurrentHashMap.newKeySet();

		private final Set<String> rateLimitGauges = ConcurrentHashMap.newKeySet();

		Recorder(MeterRegistry registry, KeyPool pool) {
			this.registry = registry;
			this.pool = pool;
		}

		@Override
		public void onStateChange(KeyStateChange change) {
			String modelClass = change.modelClass();
			modelCooldownGauge(change.keyId(), modelClass);
		}

		/**
		 * One series per (key, class), registered the first time the class cools the key here,
		 * and up front for the key-wide scope and the classes known from the start, so a replica
		 * that learns those cooldowns from another one through Redis shows them too.
		 */
		void modelCooldownGauge(String keyId, String modelClass) {
			if (this.modelGauges.add(keyId + '\u0000' + modelClass)) {
				Gauge.builder(MODEL_COOLDOWN_REMAINING, this.pool,
						(p) -> modelCooldownRemainingSeconds(p, keyId, modelClass))
					.description("Seconds until the key's cooldown for the model class ends (* = every class)")
					.baseUnit("seconds")
					.tags("pool", this.pool.name(), "key", keyId, "model_class", modelClass)
					.strongReference(true)
					.register(this.registry);
			}
		}

		@Override
		public void onRateLimitReport(String poolName, String keyId, String modelClass, RateLimitReport report) {
			for (RateLimitResource resource : report.readings().keySet()) {
				if (!this.rateLimitGauges.add(keyId + '\u0000' + modelClass + '\u0000' + resource.wireName())) {
					continue;
				}
				Tags tags = Tags.of("pool", poolName, "key", keyId, "model_class", modelClass, "resource",
						resource.wireName());
				Gauge.builder(RATELIMIT_REMAINING, this.pool, (p) -> reading(p, keyId, modelClass, resource, false))
					.description("What the key last reported remaining of the resource for the model class")
					.tags(tags)
					.strongReference(true)
					.register(this.registry);
				Gauge.builder(RATELIMIT_LIMIT, this.pool, (p) -> reading(p, keyId, modelClass, resource, true))
					.description("The key's last reported limit of the resource for the model class")
					.tags(tags)
					.strongReference(true)
					.register(this.registry);
			}
		}

		@Override
		public void onProactiveCooldown(String poolName, String keyId) {
			proactiveCooldowns(this.registry, poolName, keyId).increment();
		}

		@Override
		public void onWait(String poolName, WaitOutcome outcome) {
			waits(this.registry, poolName, outcome).increment();
		}

		@Override
		public void onRequest(String pool, CallerMode mode, String clientId) {
			requests(this.registry, pool, mode, clientId).increment();
		}

		@Override
		public void onAttempt(String pool, String keyId, AttemptOutcome outcome) {
			attempts(this.registry, pool, keyId, outcome).increment();
		}

		@Override
		public void onFailover(String pool, AttemptOutcome reason) {
			failovers(this.registry, pool, reason).increment();
		}

		@Override
		public void onExhausted(String pool, Exhaustion exhaustion) {
			exhaustions(this.registry, pool, (exhaustion instanceof Exhaustion.Permanent) ? "permanent" : "transient")
				.increment();
		}

		@Override
		public void onPooledRequestCompleted(String pool, int attempts) {
			requestAttempts(this.registry, pool).record(attempts);
		}

	}

}
