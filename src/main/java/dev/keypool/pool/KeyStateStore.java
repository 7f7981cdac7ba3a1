package dev.keypool.pool;

import java.time.Instant;
import java.util.Map;

/**
 * Holds the {@link KeyState} facts of every key, addressed by pool name and key id, and of
 * every (key, model class) scope a cooldown was set for.
 * <p>
 * The key-wide facts ({@link ModelClasses#KEY_WIDE}) hold the disabled flag and the cooldowns
 * that cover every class; a class scope holds only cooldowns, never a disabled flag.
 * <p>
 * {@link #get} is on every request's hot path: implementations answer it from local memory
 * without I/O and without allocating. Writes are atomic per (key, scope) and return the state
 * before and after, so the caller can publish the change.
 */
public interface KeyStateStore {

	/** The current key-wide facts, {@link KeyState#FRESH} for a key never marked. */
	KeyState get(String pool, String keyId);

	/**
	 * The facts of one scope: the key-wide ones for {@link ModelClasses#KEY_WIDE}, else the
	 * class's own cooldown ({@link KeyState#FRESH} when none was set).
	 */
	KeyState get(String pool, String keyId, String modelClass);

	/** The class scopes of the key that have facts, by class; without the key-wide scope. */
	Map<String, KeyState> scopes(String pool, String keyId);

	/** Records a key-wide cooldown after a rate-limited response; the later deadline wins. */
	default Transition coolDown(String pool, String keyId, Instant until, int status, Instant at) {
		return coolDown(pool, keyId, ModelClasses.KEY_WIDE, until, status, CooldownReason.RATE_LIMITED, at);
	}

	/**
	 * Records a cooldown of one scope until {@code until}; the later of the old and new
	 * deadline wins.
	 *
	 * @param status the upstream status that caused it, {@code null} for a proactive mark
	 */
	Transition coolDown(String pool, String keyId, String modelClass, Instant until, Integer status,
			CooldownReason reason, Instant at);

	/** Disables the key (every scope) until it is reset. */
	Transition disable(String pool, String keyId, int status, Instant at);

	/** Makes the key available again in every scope; returns the key-wide transition. */
	Transition reset(String pool, String keyId);

	/**
	 * Drops every fact of a key that is no longer configured (removed, or its secret
	 * replaced): nothing of it stays behind. A shared store removes it for every replica.
	 */
	default void forget(String pool, String keyId) {
		reset(pool, keyId);
	}

	/** A store that is not in memory says what it is and whether it can reach its backend. */
	default StoreHealth health() {
		return new StoreHealth("memory", true);
	}

	/** The facts before and after one write. */
	record Transition(KeyState before, KeyState after) {
	}

	/** What kind of store holds the state and whether it is connected to its backend. */
	record StoreHealth(String type, boolean connected) {
	}

}
