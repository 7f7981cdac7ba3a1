package dev.keypool.gateway;

import java.util.Map;

/**
 * One configuration's view of what the {@code KeyFailover} filter serves: the pools by name
 * and who the clients are. A request reads it once, so its pool, keys and client tokens all
 * come from the same configuration even while a reload swaps in the next one.
 *
 * @param pools the pools by name
 * @param callers tells pooled callers from BYOK ones, with this configuration's client tokens
 */
public record PoolBindings(Map<String, PoolBinding> pools, CallerResolver callers) {

	public PoolBindings {
		pools = Map.copyOf(pools);
	}

}
