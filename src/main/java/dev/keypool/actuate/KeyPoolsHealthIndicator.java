package dev.keypool.actuate;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.keypool.pool.Exhaustion;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyStateStore;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * UP while every pool has a key that can be tried now; DOWN, with the pool and when its
 * soonest key recovers, otherwise. Meant for readiness at most, never liveness: restarting a
 * pod does not bring a rate-limited key back. Trouble with a shared store is a detail, not
 * DOWN, because the store fails open.
 */
public class KeyPoolsHealthIndicator extends AbstractHealthIndicator {

	private final KeyPools pools;

	private final KeyStateStore store;

	public KeyPoolsHealthIndicator(KeyPools pools, KeyStateStore store) {
		super("Key pool health check failed");
		this.pools = pools;
		this.store = store;
	}

	@Override
	protected void doHealthCheck(Health.Builder builder) {
		boolean allUsable = true;
		Map<String, Object> details = new LinkedHashMap<>();
		for (KeyPool pool : this.pools.all()) {
			Map<String, Object> poolDetails = new LinkedHashMap<>();
			boolean usable = pool.hasAvailableKey();
			poolDetails.put("usable", usable);
			if (!usable) {
				allUsable = false;
				Exhaustion exhaustion = pool.exhaustion();
				if (exhaustion instanceof Exhaustion.Transient transientExhaustion) {
					Instant recovery = pool.clock().instant().plus(transientExhaustion.retryAfter());
					poolDetails.put("soonestRecovery", recovery.toString());
				}
				else {
					poolDetails.put("soonestRecovery", "never: every key is disabled, reset one");
				}
			}
			details.put(pool.name(), poolDetails);
		}
		KeyStateStore.StoreHealth storeHealth = this.store.health();
		builder.status(allUsable ? "UP" : "DOWN")
			.withDetail("pools", details)
			.withDetail("store", Map.of("type", storeHealth.type(), "connected", storeHealth.connected()));
	}

}
