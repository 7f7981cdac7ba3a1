package dev.keypool.pool;

import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.UnaryOperator;

/**
 * Per-process key state. Reads are a few map lookups; each write is one atomic
 * {@code compute} on the entry of one (key, scope).
 */
public class InMemoryKeyStateStore implements KeyStateStore {

	private final ConcurrentMap<String, ConcurrentMap<String, KeyState>> pools = new ConcurrentHashMap<>();

	/** pool → key id → model class → facts of that class scope. */
	private final ConcurrentMap<String, ConcurrentMap<String, ConcurrentMap<String, KeyState>>> scoped = new ConcurrentHashMap<>();

	@Override
	public KeyState get(String pool, String keyId) {
		ConcurrentMap<String, KeyState> keys = this.pools.get(pool);
		if (keys == null) {
			return KeyState.FRESH;
		}
		KeyState state = keys.get(keyId);
		return (state != null) ? state : KeyState.FRESH;
	}

	@Override
	public KeyState get(String pool, String keyId, String modelClass) {
		if (ModelClasses.KEY_WIDE.equals(modelClass)) {
			return get(pool, keyId);
		}
		ConcurrentMap<String, ConcurrentMap<String, KeyState>> keys = this.scoped.get(pool);
		ConcurrentMap<String, KeyState> classes = (keys != null) ? keys.get(keyId) : null;
		KeyState state = (classes != null) ? classes.get(modelClass) : null;
		return (state != null) ? state : KeyState.FRESH;
	}

	@Override
	public Map<String, KeyState> scopes(String pool, String keyId) {
		ConcurrentMap<String, ConcurrentMap<String, KeyState>> keys = this.scoped.get(pool);
		ConcurrentMap<String, KeyState> classes = (keys != null) ? keys.get(keyId) : null;
		return (classes != null) ? new TreeMap<>(classes) : Map.of();
	}

	@Override
	public Transition coolDown(String pool, String keyId, String modelClass, Instant until, Integer status,
			CooldownReason reason, Instant at) {
		return update(pool, keyId, modelClass, (state) -> state.coolDown(until, status, reason, at));
	}

	@Override
	public Transition disable(String pool, String keyId, int status, Instant at) {
		return update(pool, keyId, (state) -> state.disable(status, at));
	}

	@Override
	public Transition reset(String pool, String keyId) {
		clearScopes(pool, keyId);
		return update(pool, keyId, KeyState::reset);
	}

	@Override
	public void forget(String pool, String keyId) {
		clearScopes(pool, keyId);
		ConcurrentMap<String, KeyState> keys = this.pools.get(pool);
		if (keys != null) {
			keys.remove(keyId);
		}
	}

	/** Forgets every class scope of the key. */
	public void clearScopes(String pool, String keyId) {
		ConcurrentMap<String, ConcurrentMap<String, KeyState>> keys = this.scoped.get(pool);
		if (keys != null) {
			keys.remove(keyId);
		}
	}

	/**
	 * Replaces the key-wide state of one key atomically and returns before and after. Also
	 * used by shared stores to apply states they learn from other replicas.
	 */
	public Transition update(String pool, String keyId, UnaryOperator<KeyState> change) {
		return update(this.pools.computeIfAbsent(pool, (name) -> new ConcurrentHashMap<>()), keyId, change);
	}

	/** Replaces the state of one scope atomically; the key-wide one for {@link ModelClasses#KEY_WIDE}. */
	public Transition update(String pool, String keyId, String modelClass, UnaryOperator<KeyState> change) {
		if (ModelClasses.KEY_WIDE.equals(modelClass)) {
			return update(pool, keyId, change);
		}
		ConcurrentMap<String, KeyState> classes = this.scoped.computeIfAbsent(pool, (name) -> new ConcurrentHashMap<>())
			.computeIfAbsent(keyId, (id) -> new ConcurrentHashMap<>());
		return update(classes, modelClass, change);
	}

	private static Transition update(ConcurrentMap<String, KeyState> states, String id,
			UnaryOperator<KeyState> change) {
		KeyState[] before = new KeyState[1];
		KeyState after = states.compute(id, (ignored, current) -> {
			before[0] = (current != null) ? current : KeyState.FRESH;
			return change.apply(before[0]);
		});
		return new Transition(before[0], after);
	}

}
