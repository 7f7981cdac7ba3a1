package dev.keypool.pool;

import java.time.Instant;

/**
 * Holds the {@link KeyState} facts of every key, addressed by pool name and key id.
 * <p>
 * {@link #get} is on every request's hot path: implementations answer it from local memory
 * without I/O and without allocating. Writes are atomic per key and return the state before
 * and after, so the caller can publish the change.
 */
public interface KeyStateStore {

	/** The current facts, {@link KeyState#FRESH} for a key never marked. */
	KeyState get(String pool, String keyId);

	/** Records a cooldown until {@code until}; the later of the old and new deadline wins. */
	Transition coolDown(String pool, String keyId, Instant until, int status, Instant at);

	/** Disables the key until it is reset. */
	Transition disable(String pool, String keyId, int status, Instant at);

	/** Makes the key available again. */
	Transition reset(String pool, String keyId);

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
