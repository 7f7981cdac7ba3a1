package dev.keypool.pool;

import java.time.Duration;

/**
 * Why a request found no key left to try.
 */
public sealed interface Exhaustion {

	/**
	 * At least one key is only cooling down (or became available during the walk).
	 *
	 * @param retryAfter time until the soonest key is available, zero if one already is
	 */
	record Transient(Duration retryAfter) implements Exhaustion {

		/** Whole seconds for a {@code Retry-After} header, rounded up so callers never come back early. */
		public long retryAfterSeconds() {
			return KeyState.ceilSeconds(this.retryAfter);
		}

	}

	/** Every key is disabled: nothing will work until an operator resets one. */
	record Permanent() implements Exhaustion {
	}

}
