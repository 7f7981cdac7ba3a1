package dev.keypool.pool;

import java.util.Locale;

/**
 * The state of a key as operators see it. Derived on read from {@link KeyState}, never stored.
 */
public enum KeyStatus {

	/** May be tried. */
	AVAILABLE,

	/** Skipped until its cooldown deadline passes. */
	COOLING_DOWN,

	/** Skipped until reset. */
	DISABLED;

	private final String wireName = name().toLowerCase(Locale.ROOT);

	/** The name used in JSON, metrics tags and logs ({@code cooling_down}). */
	public String wireName() {
		return this.wireName;
	}

}
