package dev.keypool.gateway;

/**
 * Who sent a request, as far as the pool is concerned.
 *
 * @param kind how the request is to be served
 * @param clientId the configured client id for pooled callers, {@code anonymous} for
 * anonymous pooled callers, {@code byok} for callers with their own key; bounded, safe for tags
 */
public record Caller(Kind kind, String clientId) {

	static final Caller ANONYMOUS = new Caller(Kind.ANONYMOUS, "anonymous");

	static final Caller OWN_KEY = new Caller(Kind.OWN_KEY, "byok");

	/** How the caller authenticated. */
	public enum Kind {

		/** Sent a configured client token. */
		CLIENT,

		/** Sent a credential that is not a client token: their own provider key. */
		OWN_KEY,

		/** Sent no credential at all. */
		ANONYMOUS

	}

}
