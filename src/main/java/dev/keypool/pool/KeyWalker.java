package dev.keypool.pool;

import java.time.Instant;
import java.util.List;

/**
 * Hands out the keys of one request in the order chosen for it, skipping keys that are not
 * available for its model class when reached and never returning a key twice. Not
 * thread-safe: one request, one walker.
 */
public final class KeyWalker {

	private final KeyPool pool;

	private final List<PoolKey> keys;

	private final String modelClass;

	private int position;

	private int attempts;

	KeyWalker(KeyPool pool, List<PoolKey> keys, String modelClass) {
		this.pool = pool;
		this.keys = keys;
		this.modelClass = modelClass;
	}

	/** The next available key, or {@code null} when none is left for this request. */
	public PoolKey next() {
		Instant now = this.pool.clock().instant();
		while (this.position < this.keys.size()) {
			PoolKey key = this.keys.get(this.position++);
			if (this.pool.isAvailable(key, this.modelClass, now)) {
				this.attempts++;
				return key;
			}
		}
		return null;
	}

	/** How many keys this walker has handed out so far. */
	public int attempts() {
		return this.attempts;
	}

	/** The model class this walk is for. */
	public String modelClass() {
		return this.modelClass;
	}

}
