package dev.keypool.pool;

import java.time.Instant;

/**
 * A key moved from one state to another.
 *
 * @param pool the pool name
 * @param keyId the key id (never the secret)
 * @param from the state before
 * @param to the state after
 * @param reason what caused it: the upstream status ({@code "429"}) or {@code "reset"}
 * @param until end of the cooldown when {@code to} is cooling down, else {@code null}
 * @param at when it happened
 */
public record KeyStateChange(String pool, String keyId, KeyStatus from, KeyStatus to, String reason, Instant until,
		Instant at) {
}
