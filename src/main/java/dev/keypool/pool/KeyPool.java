package dev.keypool.pool;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * An ordered pool of provider keys with a failover policy. The first key is the primary,
 * the others its fallbacks in order. The pool owns the clock: every state is derived from
 * the stored facts at {@code clock.instant()}.
 * <p>
 * Cooldowns have a scope, (key, model class): a rate limit for one class leaves the key
 * available to the others, and a key-wide cooldown ({@link ModelClasses#KEY_WIDE}) covers
 * every class. A cooldown on a key of a group applies to every key of the group for that
 * class; disables do not spread.
 */
public class KeyPool {

	private final String name;

	private final String provider;

	private final List<PoolKey> keys;

	private final FailoverPolicy policy;

	private final KeyStateStore store;

	private final Clock clock;

	private final Scheduling scheduling;

	private final ModelClasses modelClasses;

	/** For each key in a group, every key of that group (itself included), in pool order. */
	private final Map<String, List<PoolKey>> groups;

	/** Where each key's facts are kept in the store: see {@link #stateId(PoolKey)}. */
	private final Map<PoolKey, String> stateIds;

	private final AtomicInteger waiting;

	private final List<KeyPoolListener> listeners = new CopyOnWriteArrayList<>();

	public KeyPool(String name, String provider, List<PoolKey> keys, FailoverPolicy policy, KeyStateStore store,
			Clock clock) {
		this(name, provider, keys, policy, store, clock, Scheduling.defaults());
	}

	public KeyPool(String name, String provider, List<PoolKey> keys, FailoverPolicy policy, KeyStateStore store,
			Clock clock, Scheduling scheduling) {
		this(name, provider, keys, policy, store, clock, scheduling, new ModelClasses(), new AtomicInteger());
	}

	private KeyPool(String name, String provider, List<PoolKey> keys, FailoverPolicy policy, KeyStateStore store,
			Clock clock, Scheduling scheduling, ModelClasses modelClasses, AtomicInteger waiting) {
		this.modelClasses = modelClasses;
		this.waiting = waiting;
		this.name = Objects.requireNonNull(name, "name");
		this.provider = Objects.requireNonNull(provider, "provider");
		this.keys = List.copyOf(keys);
		this.policy = Objects.requireNonNull(policy, "policy");
		this.store = Objects.requireNonNull(store, "store");
		this.clock = Objects.requireNonNull(clock, "clock");
		this.scheduling = Objects.requireNonNull(scheduling, "scheduling");
		if (this.keys.isEmpty()) {
			throw new IllegalArgumentException("pool '" + name + "' has no keys");
		}
		Set<String> ids = new HashSet<>();
		for (PoolKey key : this.keys) {
			if (!ids.add(key.id())) {
				throw new IllegalArgumentException("pool '" + name + "' has two keys with id '" + key.id() + "'");
			}
		}
		this.groups = groups(this.keys);
		Map<PoolKey, String> stateIds = new HashMap<>();
		for (PoolKey key : this.keys) {
			stateIds.put(key, StateIdentity.of(name, key));
		}
		this.stateIds = Map.copyOf(stateIds);
	}

	private static Map<String, List<PoolKey>> groups(List<PoolKey> keys) {
		Map<String, List<PoolKey>> byGroup = new LinkedHashMap<>();
		for (PoolKey key : keys) {
			if (key.group() != null) {
				byGroup.computeIfAbsent(key.group(), (group) -> new ArrayList<>()).add(key);
			}
		}
		Map<String, List<PoolKey>> byKey = new HashMap<>();
		for (PoolKey key : keys) {
			if (key.group() != null) {
				byKey.put(key.id(), List.copyOf(byGroup.get(key.group())));
			}
		}
		return Map.copyOf(byKey);
	}

	/**
	 * The same pool with other keys, for a reload that changed only the keys: the new pool
	 * shares this one's scheduling (strategy, sticky sessions, reported limits), model classes
	 * and places of held requests, so nothing but the keys changes for its callers. Listeners
	 * are not carried over: the registry adds them to the new pool.
	 */
	public KeyPool withKeys(List<PoolKey> keys) {
		return new KeyPool(this.name, this.provider, keys, this.policy, this.store, this.clock, this.scheduling,
				this.modelClasses, this.waiting);
	}

	public String name() {
		return this.name;
	}

	public String provider() {
		return this.provider;
	}

	public List<PoolKey> keys() {
		return this.keys;
	}

	public FailoverPolicy policy() {
		return this.policy;
	}

	public Clock clock() {
		return this.clock;
	}

	public KeyStateStore store() {
		return this.store;
	}

	public Scheduling scheduling() {
		return this.scheduling;
	}

	/** The tracked model class of a request's model id ({@link ModelClasses#KEY_WIDE} for none). */
	public String modelClassOf(String model) {
		return this.modelClasses.resolve(model);
	}

	public ModelClasses modelClasses() {
		return this.modelClasses;
	}

	/**
	 * The name the key's facts are stored under: its id and a fingerprint of its secret, so a
	 * key whose secret is replaced starts with no facts, on every replica sharing the store,
	 * while a request still holding the old secret can only mark the old one.
	 */
	public String stateId(PoolKey key) {
		String stateId = this.stateIds.get(key);
		return (stateId != null) ? stateId : StateIdentity.of(this.name, key);
	}

	/** The facts of one scope of the key; the key-wide ones for {@link ModelClasses#KEY_WIDE}. */
	public KeyState state(PoolKey key, String modelClass) {
		return this.store.get(this.name, stateId(key), modelClass);
	}

	public Optional<PoolKey> key(String id) {
		for (PoolKey key : this.keys) {
			if (key.id().equals(id)) {
				return Optional.of(key);
			}
		}
		return Optional.empty();
	}

	public void addListener(KeyPoolListener listener) {
		this.listeners.add(listener);
	}

	/**
	 * A fresh walker in configuration order for a request without a model, starting at the
	 * first key; the strategy and sessions are not consulted (see {@link #walker(String, String)}).
	 */
	public KeyWalker walker() {
		return new KeyWalker(this, this.keys, ModelClasses.KEY_WIDE);
	}

	/**
	 * A fresh walker for one request: the keys in the strategy's order, the session's key first
	 * when it is available for the class.
	 *
	 * @param modelClass the request's model class
	 * @param session the caller's session id, or {@code null}
	 */
	public KeyWalker walker(String modelClass, String session) {
		List<PoolKey> order = this.scheduling.strategy().order(this.keys, modelClass);
		if (session != null) {
			String sticky = this.scheduling.sessions().keyOf(session);
			if (sticky != null && !order.get(0).id().equals(sticky)) {
				Optional<PoolKey> key = key(sticky);
				if (key.isPresent() && isAvailable(key.get(), modelClass, this.clock.instant())) {
					List<PoolKey> moved = new ArrayList<>(order.size());
					moved.add(key.get());
					for (PoolKey other : order) {
						if (other != key.get()) {
							moved.add(other);
						}
					}
					order = moved;
				}
			}
		}
		return new KeyWalker(this, order, modelClass);
	}

	/** The key-wide facts: disabled flag and cooldowns that cover every class. */
	public KeyState state(PoolKey key) {
		return this.store.get(this.name, stateId(key));
	}

	/**
	 * Disabled, or cooling down while any cooldown of any scope runs, else available. A key
	 * cooling down for one class may still serve others.
	 * <p>
	 * Read for every key on every scrape, so it answers from the stored facts without
	 * building anything: a key with no class scope allocates nothing.
	 */
	public KeyStatus status(PoolKey key) {
		Instant now = this.clock.instant();
		KeyState keyWide = state(key);
		if (keyWide.disabled()) {
			return KeyStatus.DISABLED;
		}
		if (isRunning(keyWide, now)) {
			return KeyStatus.COOLING_DOWN;
		}
		return anyScopeRunning(key, now) ? KeyStatus.COOLING_DOWN : KeyStatus.AVAILABLE;
	}

	private boolean anyScopeRunning(PoolKey key, Instant now) {
		Map<String, KeyState> scopes = this.store.scopes(this.name, stateId(key));
		if (scopes.isEmpty()) {
			return false; // even an empty map's iterator is an object
		}
		for (KeyState scope : scopes.values()) {
			if (isRunning(scope, now)) {
				return true;
			}
		}
		return false;
	}

	/**
	 * The running cooldown of any scope that ends last, or {@code null}; what the key-level
	 * {@code cooldownUntil} reports.
	 */
	public Cooldown latestCooldown(PoolKey key, Instant now) {
		String latestClass = null;
		KeyState latest = null;
		KeyState keyWide = state(key);
		if (isRunning(keyWide, now)) {
			latestClass = ModelClasses.KEY_WIDE;
			latest = keyWide;
		}
		for (Map.Entry<String, KeyState> scope : this.store.scopes(this.name, stateId(key)).entrySet()) {
			KeyState state = scope.getValue();
			if (isRunning(state, now) && (latest == null || state.cooldownUntil().isAfter(latest.cooldownUntil()))) {
				latestClass = scope.getKey();
				latest = state;
			}
		}
		return (latest != null) ? cooldown(latestClass, latest) : null;
	}

	/** Every running cooldown of the key, key-wide first, then by class. */
	public List<Cooldown> cooldowns(PoolKey key, Instant now) {
		List<Cooldown> running = new ArrayList<>(2);
		addIfRunning(running, ModelClasses.KEY_WIDE, state(key), now);
		for (Map.Entry<String, KeyState> scope : this.store.scopes(this.name, stateId(key)).entrySet()) {
			addIfRunning(running, scope.getKey(), scope.getValue(), now);
		}
		return running;
	}

	private static void addIfRunning(List<Cooldown> running, String modelClass, KeyState state, Instant now) {
		if (isRunning(state, now)) {
			running.add(cooldown(modelClass, state));
		}
	}

	private static boolean isRunning(KeyState state, Instant now) {
		return state.cooldownUntil() != null && now.isBefore(state.cooldownUntil());
	}

	private static Cooldown cooldown(String modelClass, KeyState state) {
		return new Cooldown(modelClass, state.cooldownUntil(),
				(state.cooldownReason() != null) ? state.cooldownReason() : CooldownReason.RATE_LIMITED,
				state.lastStatus(), state.lastFailureAt());
	}

	/** The last failure that marked the key in any scope, or {@code null}. */
	public KeyState lastFailure(PoolKey key) {
		KeyState latest = state(key);
		for (KeyState scope : this.store.scopes(this.name, stateId(key)).values()) {
			if (scope.lastFailureAt() != null
					&& (latest.lastFailureAt() == null || !scope.lastFailureAt().isBefore(latest.lastFailureAt()))) {
				latest = scope;
			}
		}
		return latest;
	}

	/** The limits the key last reported, by model class. */
	public Map<String, RateLimitReport> rateLimits(PoolKey key) {
		return this.scheduling.rateLimits().reports(key.id());
	}

	boolean isAvailable(PoolKey key, String modelClass, Instant now) {
		if (!state(key).isAvailableAt(now)) {
			return false;
		}
		return ModelClasses.KEY_WIDE.equals(modelClass) || state(key, modelClass).isAvailableAt(now);
	}

	/** Marks the whole key (and its group) cooling down for {@code cooldown}; a later deadline wins. */
	public void coolDown(PoolKey key, Duration cooldown, int status) {
		coolDown(key, ModelClasses.KEY_WIDE, cooldown, status);
	}

	/**
	 * Marks the (key, model class), and the same class of every key of its group, cooling
	 * down for {@code cooldown}; a later deadline already set wins.
	 */
	public void coolDown(PoolKey key, String modelClass, Duration cooldown, int status) {
		Instant now = this.clock.instant();
		mark(key, modelClass, now.plus(cooldown), status, CooldownReason.RATE_LIMITED, now);
	}

	/**
	 * Reads a response's rate-limit headers: records the limits for the (key, class) and,
	 * when proactive and the figures say the next request would be refused, cools the
	 * (key, class) and its group until the reported reset (within the min and max cooldown).
	 *
	 * @param header the response's header values by name
	 * @return whether a proactive cooldown was set
	 */
	public boolean observe(PoolKey key, String modelClass, Function<String, String> header) {
		Optional<RateLimitReport> parsed = RateLimitReport.parse(header);
		if (parsed.isEmpty()) {
			return false;
		}
		RateLimitReport report = parsed.get();
		this.scheduling.rateLimits().record(key.id(), modelClass, report);
		for (KeyPoolListener listener : this.listeners) {
			listener.onRateLimitReport(this.name, key.id(), modelClass, report);
		}
		if (!this.scheduling.proactive()) {
			return false;
		}
		Instant now = this.clock.instant();
		Optional<Instant> exhausted = report.exhaustedUntil(this.scheduling.minRemainingTokens(),
				this.policy.defaultCooldown(), now);
		if (exhausted.isEmpty()) {
			return false;
		}
		Instant until = now.plus(this.policy.bounded(Duration.between(now, exhausted.get())));
		mark(key, modelClass, until, null, CooldownReason.PROACTIVE, now);
		for (KeyPoolListener listener : this.listeners) {
			listener.onProactiveCooldown(this.name, key.id());
		}
		return true;
	}

	/** The session's request was served by the key: later requests of the session start there. */
	public void rememberSession(String session, PoolKey key) {
		if (session != null) {
			this.scheduling.sessions().remember(session, key.id());
		}
	}

	private void mark(PoolKey key, String modelClass, Instant until, Integer status, CooldownReason reason,
			Instant now) {
		String why = (status != null) ? Integer.toString(status) : reason.wireName();
		for (PoolKey member : this.groups.getOrDefault(key.id(), List.of(key))) {
			publish(member, this.store.coolDown(this.name, stateId(member), modelClass, until, status, reason, now), why,
					now, modelClass);
		}
	}

	/** Disables the key until it is reset. */
	public void disable(PoolKey key, int status) {
		Instant now = this.clock.instant();
		publish(key, this.store.disable(this.name, stateId(key), status, now), Integer.toString(status), now);
	}

	/** Makes the key available again, for every class; forgets the limits it reported. */
	public void reset(PoolKey key) {
		Instant now = this.clock.instant();
		this.scheduling.rateLimits().forget(key.id());
		publish(key, this.store.reset(this.name, stateId(key)), "reset", now);
	}

	/** Why no key is left for a request without a model. */
	public Exhaustion exhaustion() {
		return exhaustion(ModelClasses.KEY_WIDE);
	}

	/**
	 * Why no key is left for the class: transient while any key is not disabled (with the
	 * time until the soonest one is available for the class), permanent when every key is
	 * disabled.
	 */
	public Exhaustion exhaustion(String modelClass) {
		Instant now = this.clock.instant();
		boolean keyWide = ModelClasses.KEY_WIDE.equals(modelClass);
		Duration soonest = null;
		for (PoolKey key : this.keys) {
			KeyState state = state(key);
			if (state.disabled()) {
				continue;
			}
			Duration wait = state.cooldownRemainingAt(now);
			if (!keyWide) {
				Duration scoped = state(key, modelClass).cooldownRemainingAt(now);
				wait = (scoped.compareTo(wait) > 0) ? scoped : wait;
			}
			if (soonest == null || wait.compareTo(soonest) < 0) {
				soonest = wait;
			}
		}
		return (soonest != null) ? new Exhaustion.Transient(soonest) : new Exhaustion.Permanent();
	}

	/** Takes one of the {@code max-waiting} places; false when all are taken. */
	public boolean startWaiting() {
		int max = this.scheduling.maxWaiting();
		while (true) {
			int now = this.waiting.get();
			if (now >= max) {
				return false;
			}
			if (this.waiting.compareAndSet(now, now + 1)) {
				return true;
			}
		}
	}

	/** Gives back a place taken by {@link #startWaiting()}. */
	public void endWaiting(WaitOutcome outcome) {
		this.waiting.decrementAndGet();
		recordWait(outcome);
	}

	/** Requests held now. */
	public int waiting() {
		return this.waiting.get();
	}

	public void recordWait(WaitOutcome outcome) {
		for (KeyPoolListener listener : this.listeners) {
			listener.onWait(this.name, outcome);
		}
	}

	/**
	 * Whether at least one key can be tried right now by some request: not disabled and not
	 * under a key-wide cooldown (a cooldown of one class leaves the key usable for others).
	 */
	public boolean hasAvailableKey() {
		Instant now = this.clock.instant();
		for (PoolKey key : this.keys) {
			if (isAvailable(key, ModelClasses.KEY_WIDE, now)) {
				return true;
			}
		}
		return false;
	}

	public void recordRequest(CallerMode mode, String clientId) {
		for (KeyPoolListener listener : this.listeners) {
			listener.onRequest(this.name, mode, clientId);
		}
	}

	public void recordAttempt(PoolKey key, AttemptOutcome outcome) {
		for (KeyPoolListener listener : this.listeners) {
			listener.onAttempt(this.name, key.id(), outcome);
		}
	}

	public void recordFailover(AttemptOutcome reason) {
		for (KeyPoolListener listener : this.listeners) {
			listener.onFailover(this.name, reason);
		}
	}

	public void recordExhausted(Exhaustion exhaustion) {
		for (KeyPoolListener listener : this.listeners) {
			listener.onExhausted(this.name, exhaustion);
		}
	}

	public void recordPooledRequestCompleted(int attempts) {
		for (KeyPoolListener listener : this.listeners) {
			listener.onPooledRequestCompleted(this.name, attempts);
		}
	}

	private void publish(PoolKey key, KeyStateStore.Transition transition, String reason, Instant now) {
		publish(key, transition, reason, now, ModelClasses.KEY_WIDE);
	}

	private void publish(PoolKey key, KeyStateStore.Transition transition, String reason, Instant now,
			String modelClass) {
		KeyStatus from = transition.before().statusAt(now);
		KeyStatus to = transition.after().statusAt(now);
		boolean deadlineMoved = !Objects.equals(transition.before().cooldownUntil(), transition.after().cooldownUntil());
		if (from == to && !(to == KeyStatus.COOLING_DOWN && deadlineMoved)) {
			return;
		}
		Instant until = (to == KeyStatus.COOLING_DOWN) ? transition.after().cooldownUntil() : null;
		KeyStateChange change = new KeyStateChange(this.name, key.id(), from, to, reason, until, now, modelClass);
		for (KeyPoolListener listener : this.listeners) {
			listener.onStateChange(change);
		}
	}

	@Override
	public String toString() {
		return "KeyPool[name=" + this.name + ", provider=" + this.provider + ", keys=" + this.keys + "]";
	}

	/**
	 * One running cooldown of a key.
	 *
	 * @param modelClass its scope, {@link ModelClasses#KEY_WIDE} for the whole key
	 * @param until when it ends
	 * @param reason why it was set
	 * @param lastStatus the status of the last failure in that scope, or {@code null}
	 * @param lastFailureAt when that failure happened, or {@code null}
	 */
	public record Cooldown(String modelClass, Instant until, CooldownReason reason, Integer lastStatus,
			Instant lastFailureAt) {

		public Duration remainingAt(Instant now) {
			return now.isBefore(this.until) ? Duration.between(now, this.until) : Duration.ZERO;
		}

	}

}
