package dev.keypool.pool;

import java.util.Locale;

/**
 * Whose key serves a request: the pool's, or the caller's own (bring your own key).
 */
public enum CallerMode {

	POOLED, BYOK;

	private final String tagValue = name().toLowerCase(Locale.ROOT);

	public String tagValue() {
		return this.tagValue;
	}

}
