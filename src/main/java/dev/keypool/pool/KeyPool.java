package dev.keypool.pool;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An ordered pool of provider keys with a failover policy. The first key is the primary,
 * the others its fallbacks in order. The pool owns the clock: every state is derived from
 * the stored facts at {@code clock.instant()}.
 */
public class KeyPool {

	private final String name;

	private final String provider;

	private final List<PoolKey> keys;

	private final FailoverPolicy policy;

	private final KeyStateStore store;

	private final Clock clock;

	private final List<KeyPoolListener> listeners = new CopyOnWriteArrayList<>();

	public KeyPool(String name, String provider, List<PoolKey> keys, FailoverPolicy policy, KeyStateStore store,
			Clock clock) {
		this.name = Objects.requireNonNull(name, "name");
		this.provider = Objects.requireNonNull(provider, "provider");
		this.keys = List.copyOf(keys);
		this.policy = Objects.requireNonNull(policy, "policy");
		this.store = Objects.requireNonNull(store, "store");
		this.clock = Objects.requireNonNull(clock, "clock");
		if (this.keys.isEmpty()) {
			throw new IllegalArgumentException("pool '" + name + "' has no keys");
		}
		Set<String> ids = new HashSet<>();
		for (PoolKey key : this.keys) {
			if (!ids.add(key.id())) {
				throw new IllegalArgumentException("pool '" + name + "' has two keys with id '" + key.id() + "'");
			}
		}
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

	/** A fresh walker for one request, starting at the first key. */
	public KeyWalker walker() {
		return new KeyWalker(this);
	}

	public KeyState state(PoolKey key) {
		return this.store.get(this.name, key.id());
	}

	public KeyStatus status(PoolKey key) {
		return state(key).statusAt(this.clock.instant());
	}

	boolean isAvailable(PoolKey key, Instant now) {
		return this.store.get(this.name, key.id()).isAvailableAt(now);
	}

	/** Marks the key cooling down for {@code cooldown}; a later deadline already set wins. */
	public void coolDown(PoolKey key, Duration cooldown, int status) {
		Instant now = this.clock.instant();
		Instant until = now.plus(cooldown);
		publish(key, this.store.coolDown(this.name, key.id(), until, status, now), Integer.toString(status), now);
	}

	/** Disables the key until it is reset. */
	public void disable(PoolKey key, int status) {
		Instant now = this.clock.instant();
		publish(key, this.store.disable(this.name, key.id(), status, now), Integer.toString(status), now);
	}

	/** Makes the key available again. */
	public void reset(PoolKey key) {
		Instant now = this.clock.instant();
		publish(key, this.store.reset(this.name, key.id()), "reset", now);
	}

	/**
	 * Why no key is left: transient while any key is not disabled (with the time until the
	 * soonest one is available), permanent when every key is disabled.
	 */
	public Exhaustion exhaustion() {
		Instant now = this.clock.instant();
		Duration soonest = null;
		for (PoolKey key : this.keys) {
			KeyState state = state(key);
			if (state.disabled()) {
				continue;
			}
			Duration wait = state.cooldownRemainingAt(now);
			if (soonest == null || wait.compareTo(soonest) < 0) {
				soonest = wait;
			}
		}
		return (soonest != null) ? new Exhaustion.Transient(soonest) : new Exhaustion.Permanent();
	}

	/** Whether at least one key can be tried right now. */
	public boolean hasAvailableKey() {
		Instant now = this.clock.instant();
		for (PoolKey key : this.keys) {
			if (isAvailable(key, now)) {
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
		KeyStatus from = transition.before().statusAt(now);
		KeyStatus to = transition.after().statusAt(now);
		boolean deadlineMoved = !Objects.equals(transition.before().cooldownUntil(), transition.after().cooldownUntil());
		if (from == to && !(to == KeyStatus.COOLING_DOWN && deadlineMoved)) {
			return;
		}
		Instant until = (to == KeyStatus.COOLING_DOWN) ? transition.after().cooldownUntil() : null;
		KeyStateChange change = new KeyStateChange(this.name, key.id(), from, to, reason, until, now);
		for (KeyPoolListener listener : this.listeners) {
			listener.onStateChange(change);
		}
	}

	@Override
	public String toString() {
		return "KeyPool[name=" + this.name + ", provider=" + this.provider + ", keys=" + this.keys + "]";
	}

}
