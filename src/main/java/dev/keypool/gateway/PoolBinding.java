package dev.keypool.gateway;

import dev.keypool.pool.KeyPool;
import dev.keypool.provider.ProviderDialect;

/**
 * A pool together with what the HTTP side needs to serve it.
 *
 * @param pool the keys and their state
 * @param dialect how the provider wants its key and words its errors
 * @param byok whether callers with their own credential are passed through
 * @param allowAnonymous whether callers without a credential are served from the pool
 */
public record PoolBinding(KeyPool pool, ProviderDialect dialect, boolean byok, boolean allowAnonymous) {
}
