package dev.keypool.pool;

import java.util.Locale;

/**
 * What one upstream attempt with one key came to; the values of the {@code outcome} tag.
 */
public enum AttemptOutcome {

	SUCCESS, RATE_LIMITED, AUTH_FAILED, RELAYED_ERROR, NETWORK_ERROR;

	private final String tagValue = name().toLowerCase(Locale.ROOT);

	public String tagValue() {
		return this.tagValue;
	}

	public static AttemptOutcome of(Verdict verdict) {
		return switch (verdict) {
			case SUCCESS -> SUCCESS;
			case COOL_DOWN -> RATE_LIMITED;
			case DISABLE -> AUTH_FAILED;
			case RELAY -> RELAYED_ERROR;
		};
	}

}
