package dev.keypool.pool;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The order in which one request's walk tries the keys. Chosen once per pool at startup; the
 * walker then skips keys not available for the request's model class.
 */
public interface Strategy {

	/**
	 * The keys in the order to try them.
	 *
	 * @param keys the pool's keys in configuration order
	 * @param modelClass the request's model class, {@link ModelClasses#KEY_WIDE} for none
	 */
	List<PoolKey> order(List<PoolKey> keys, String modelClass);

	/** Every walk starts at the first key: a primary with fallbacks. */
	static Strategy ordered() {
		return (keys, modelClass) -> keys;
	}

	/** Successive walks start at successive keys and wrap around. */
	static Strategy roundRobin() {
		AtomicLong next = new AtomicLong();
		return (keys, modelClass) -> {
			int start = (int) Math.floorMod(next.getAndIncrement(), (long) keys.size());
			if (start == 0) {
				return keys;
			}
			List<PoolKey> rotated = new ArrayList<>(keys.size());
			rotated.addAll(keys.subList(start, keys.size()));
			rotated.addAll(keys.subList(0, start));
			return rotated;
		};
	}

	/**
	 * Keys with the most room first: the largest remaining fraction (the smallest across
	 * resources) each key last reported for the class; a key never reported counts as full,
	 * and ties keep configuration order.
	 */
	static Strategy headroom(RateLimitBook limits) {
		return (keys, modelClass) -> {
			List<PoolKey> sorted = new ArrayList<>(keys);
			// List.sort is stable: equal headroom keeps configuration order
			sorted.sort(Comparator.comparingDouble((PoolKey key) -> limits.headroom(key.id(), modelClass)).reversed());
			return sorted;
		};
	}

}
