package dev.keypool.provider;

/**
 * What differs between providers at the HTTP level.
 */
public interface ProviderDialect {

	/** The name used in {@code keypool.pools.*.provider}. */
	String name();

	/** The request header that carries the provider key. */
	String keyHeader();

	/** A complete JSON error body in the provider's shape. */
	byte[] errorBody(ErrorKind kind, String message);

	/**
	 * A complete server-sent event that tells a streaming client the stream failed, in the
	 * provider's shape, ending with the blank line that dispatches it.
	 */
	byte[] streamErrorEvent(String message);

}
