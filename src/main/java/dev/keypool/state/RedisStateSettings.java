package dev.keypool.state;

import java.time.Duration;
import java.util.Objects;

/**
 * How the Redis key state store names its data and how often it checks it.
 *
 * @param prefix prefix of every Redis key and of the change channel; keys with another
 * prefix are never read or written
 * @param resyncInterval how often a replica reloads the full state while connected, which
 * bounds how long a missed change message can leave it wrong
 * @param timeout how long one Redis call may take before the store treats Redis as
 * unreachable and works on its local state
 */
public record RedisStateSettings(String prefix, Duration resyncInterval, Duration timeout) {

	/** The defaults: prefix {@code keypool:}, resync every 30s, 2s per call. */
	public static final RedisStateSettings DEFAULTS = new RedisStateSettings("keypool:", Duration.ofSeconds(30),
			Duration.ofSeconds(2));

	public RedisStateSettings {
		Objects.requireNonNull(prefix, "prefix");
		if (prefix.isEmpty()) {
			throw new IllegalArgumentException("keypool.state.redis.prefix must not be empty");
		}
		requirePositive(resyncInterval, "keypool.state.redis.resync-interval");
		requirePositive(timeout, "spring.data.redis.timeout");
	}

	/** How often to retry while Redis is unreachable: every second, or more often if resyncs are. */
	Duration retryInterval() {
		Duration second = Duration.ofSeconds(1);
		return (this.resyncInterval.compareTo(second) < 0) ? this.resyncInterval : second;
	}

	private static void requirePositive(Duration duration, String property) {
		if (duration == null || duration.isNegative() || duration.isZero()) {
			throw new IllegalArgumentException(property + " must be a positive duration, was " + duration);
		}
	}

}
