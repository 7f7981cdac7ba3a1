package dev.keypool.pool;

import java.util.Locale;

/**
 * How a request held for a key to come back ({@code max-wait}) ended; the values of the
 * {@code outcome} tag.
 */
public enum WaitOutcome {

	/** A key came back and the request walked again. */
	SERVED,

	/** The wait would exceed {@code max-wait}: answered with the exhaustion. */
	TIMED_OUT,

	/** The caller went away while held. */
	CANCELLED,

	/** {@code max-waiting} requests were already held: answered at once. */
	REJECTED;

	private final String tagValue = name().toLowerCase(Locale.ROOT);

	public String tagValue() {
		return this.tagValue;
	}

}
