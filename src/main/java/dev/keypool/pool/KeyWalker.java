package dev.keypool.pool;

import java.time.Instant;
import java.util.List;

/**
 * Hands out the keys of one request, in pool order, skipping keys that are not available
 * when reached and never returning a key twice. Not thread-safe: one request, one walker.
 */
public final class KeyWalker {

	private final KeyPool pool;

	private final List<PoolKey> keys;

	private int position;

	private int attempts;

	KeyWalker(KeyPool pool) {
		this.pool = pool;
		this.keys = pool.keys();
	}

	/** The next available key, or {@code null} when none is left for this request. */
	public PoolKey next() {
		Instant now = this.pool.clock().instant();
		while (this.position < this.keys.size()) {
			PoolKey key = this.keys.get(this.position++);
			if (this.pool.isAvailable(key, now)) {
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

}
