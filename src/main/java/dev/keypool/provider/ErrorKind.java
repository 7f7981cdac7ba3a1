package dev.keypool.provider;

/**
 * The errors the gateway itself produces, independent of provider wording.
 */
public enum ErrorKind {

	/** No or unknown credential. */
	AUTHENTICATION,

	/** Every key is cooling down. */
	RATE_LIMIT,

	/** A request the gateway refuses to forward: dot segments, an odd method, an upgrade. */
	INVALID_REQUEST,

	/** Request body over {@code keypool.max-request-body}. */
	REQUEST_TOO_LARGE,

	/** The request body did not arrive within {@code keypool.request-body-timeout}. */
	REQUEST_TIMEOUT,

	/** Every key failed authentication, or the upstream could not be reached. */
	UPSTREAM,

	/** The upstream did not answer in time. */
	TIMEOUT,

	/** The gateway has no room for the request now ({@code keypool.max-buffered-bytes}). */
	OVERLOADED

}
