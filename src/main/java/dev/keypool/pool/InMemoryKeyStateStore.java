package dev.keypool.pool;

import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.UnaryOperator;

/**
 * Per-process key state. Reads are two map lookups; each write is one atomic
 * {@code compute} on the key's entry.
 */
public class InMemoryKeyStateStore implements KeyStateStore {

	private final ConcurrentMap<String, ConcurrentMap<String, KeyState>> pools = new ConcurrentHashMap<>();

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
	public Transition coolDown(String pool, String keyId, Instant until, int status, Instant at) {
		return update(pool, keyId, (state) -> state.coolDown(until, status, at));
	}

	@Override
	public Transition disable(String pool, String keyId, int status, Instant at) {
		return update(pool, keyId, (state) -> state.disable(status, at));
	}

	@Override
	public Transition reset(String pool, String keyId) {
		return update(pool, keyId, KeyState::reset);
	}

	/**
	 * Replaces the state of one key atomically and returns before and after. Also used by
	 * shared stores to apply states they learn from other replicas.
	 */
	public Transition update(String pool, String keyId, UnaryOperator<KeyState> change) {
		KeyState[] before = new KeyState[1];
		KeyState after = this.pools.computeIfAbsent(pool, (name) -> new ConcurrentHashMap<>())
			.compute(keyId, (id, current) -> {
				before[0] = (current != null) ? current : KeyState.FRESH;
				return change.apply(before[0]);
			});
		return new Transition(before[0], after);
	}

}
