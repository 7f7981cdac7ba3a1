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

	KeyAuthorizer authorizer(PoolKey key) {
		KeyAuthorizer authorizer = this.authorizers.get(key.id());
		return (authorizer != null) ? authorizer : KeyAuthorizer.header(this.dialect.keyHeader(), key.secret());
	}

}
