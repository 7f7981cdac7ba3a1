package dev.keypool.pool;

/**
 * What an upstream status means for the key that produced it.
 */
public enum Verdict {

	/** 2xx/3xx: hand the response to the caller. */
	SUCCESS,

	/** A {@code cooldown-on} status: mark the key cooling down and try the next one. */
	COOL_DOWN,

	/** A {@code disable-on} status: disable the key and try the next one. */
	DISABLE,

	/** Anything else: not the key's fault, relay it to the caller unchanged, no failover. */
	RELAY

}
