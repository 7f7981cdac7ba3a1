package dev.keypool.pool;

import java.util.Locale;

/**
 * Why a cooldown was set.
 */
public enum CooldownReason {

	/** The provider answered with a {@code cooldown-on} status (429). */
	RATE_LIMITED,

	/** The provider's rate-limit headers said the next request would be refused. */
	PROACTIVE;

	private final String wireName = name().toLowerCase(Locale.ROOT);

	/** The name in JSON and logs ({@code rate_limited}). */
	public String wireName() {
		return this.wireName;
	}

	/** The reason named by {@link #wireName()}, {@link #RATE_LIMITED} for anything else. */
	public static CooldownReason of(String wireName) {
		return PROACTIVE.wireName.equals(wireName) ? PROACTIVE : RATE_LIMITED;
	}

}
