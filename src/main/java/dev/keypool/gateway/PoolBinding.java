package dev.keypool.gateway;

import java.util.Map;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.PoolKey;
import dev.keypool.provider.KeyAuthorizer;
import dev.keypool.provider.ProviderDialect;

/**
 * A pool together with what the HTTP side needs to serve it.
 *
 * @param pool the keys and their state
 * @param dialect how the provider wants its key and words its errors
 * @param byok whether callers with their own credential are passed through
 * @param allowAnonymous whether callers without a credential are served from the pool
 * @param authorizers how each key, by id, authorizes an attempt; a key without one sends its
 * secret in the dialect's key header
 */
public record PoolBinding(KeyPool pool, ProviderDialect dialect, boolean byok, boolean allowAnonymous,
		Map<String, KeyAuthorizer> authorizers) {

	public PoolBinding {
		authorizers = Map.copyOf(authorizers);
	}

	/** Keys that send their secret in the dialect's key header. */
	public PoolBinding(KeyPool pool, ProviderDialect dialect, boolean byok, boolean allowAnonymous) {
		this(pool, dialect, byok, allowAnonymous, Map.of());
	}

	/**
	 * This binding's authorizer for the key with that id, if {@code next} holds the same key
	 * with the same credentials (same state identity); {@code null} otherwise.
	 */
	public KeyAuthorizer unchangedAuthorizer(KeyPool next, String keyId) {
		KeyAuthorizer authorizer = this.authorizers.get(keyId);
		PoolKey before = this.pool.key(keyId).orElse(null);
		PoolKey after = next.key(keyId).orElse(null);
		if (authorizer == null || before == null || after == null) {
			return null;
		}
		return this.pool.stateId(before).equals(next.stateId(after)) ? authorizer : null;
	}

	KeyAuthorizer authorizer(PoolKey key) {
		KeyAuthorizer authorizer = this.authorizers.get(key.id());
		return (authorizer != null) ? authorizer : KeyAuthorizer.header(this.dialect.keyHeader(), key.secret());
	}

}
