package dev.keypool.pool;

import java.time.Instant;

/**
 * A key, or one model class of it, moved from one state to another.
 *
 * @param pool the pool name
 * @param keyId the key id (never the secret)
 * @param from the state before
 * @param to the state after
 * @param reason what caused it: the upstream status ({@code "429"}), {@code "proactive"} or
 * {@code "reset"}
 * @param until end of the cooldown when {@code to} is cooling down, else {@code null}
 * @param at when it happened
 * @param modelClass the scope that changed, {@link ModelClasses#KEY_WIDE} for the whole key
 */
public record KeyStateChange(String pool, String keyId, KeyStatus from, KeyStatus to, String reason, Instant until,
		Instant at, String modelClass) {

	/** A change of the whole key. */
	public KeyStateChange(String pool, String keyId, KeyStatus from, KeyStatus to, String reason, Instant until,
			Instant at) {
		this(pool, keyId, from, to, reason, until, at, ModelClasses.KEY_WIDE);
	}

}
