package dev.keypool.actuate;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyState;
import dev.keypool.pool.KeyStateStore;
import dev.keypool.pool.KeyStatus;
import dev.keypool.pool.PoolKey;

import org.springframework.boot.actuate.endpoint.annotation.DeleteOperation;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.web.WebEndpointResponse;

/**
 * {@code /actuator/keypools}: which keys of which pool are available, cooling down or
 * disabled, until when and why; and a reset that makes a key available again. Modelled on
 * Spring Boot's {@code LoggersEndpoint}. Never shows a secret, only its masked hint.
 * <p>
 * Writes are guarded by {@link KeyPoolsWriteGuard} on the management server, because an
 * endpoint operation cannot see the request headers.
 */
@Endpoint(id = KeyPoolsEndpoint.ID)
public class KeyPoolsEndpoint {

	/** The endpoint id, also its path under the actuator base path. */
	public static final String ID = "keypools";

	private final KeyPools pools;

	public KeyPoolsEndpoint(KeyPools pools) {
		this.pools = pools;
	}

	/** Every pool, in configuration order. */
	@ReadOperation
	public KeyPoolsDescriptor keyPools() {
		List<PoolDescriptor> descriptors = new ArrayList<>();
		for (KeyPool pool : this.pools.all()) {
			descriptors.add(describe(pool));
		}
		return new KeyPoolsDescriptor(descriptors);
	}

	/** One pool; {@code null} (404) for a pool that is not configured. */
	@ReadOperation
	public PoolDescriptor keyPool(@Selector String pool) {
		return this.pools.get(pool).map(KeyPoolsEndpoint::describe).orElse(null);
	}

	/**
	 * Makes a key available again: 204 No Content, or 404 for an unknown pool or key. With a
	 * shared state store the reset reaches every replica.
	 */
	@DeleteOperation
	public WebEndpointResponse<Map<String, String>> reset(@Selector String pool, @Selector String key) {
		Optional<KeyPool> keyPool = this.pools.get(pool);
		Optional<PoolKey> poolKey = keyPool.flatMap((found) -> found.key(key));
		if (poolKey.isEmpty()) {
			// Echoes no request input: a mistyped path could hold a pasted secret.
			String message = keyPool.isEmpty() ? "no such pool" : "pool '" + pool + "' has no such key";
			return new WebEndpointResponse<>(Map.of("error", "not_found", "message", message),
					WebEndpointResponse.STATUS_NOT_FOUND);
		}
		keyPool.get().reset(poolKey.get());
		return new WebEndpointResponse<>(WebEndpointResponse.STATUS_NO_CONTENT);
	}

	static PoolDescriptor describe(KeyPool pool) {
		Instant now = pool.clock().instant();
		Map<String, Integer> counts = new LinkedHashMap<>();
		for (KeyStatus status : KeyStatus.values()) {
			counts.put(status.wireName(), 0);
		}
		List<KeyDescriptor> keys = new ArrayList<>();
		for (PoolKey key : pool.keys()) {
			KeyStatus status = pool.status(key);
			counts.merge(status.wireName(), 1, Integer::sum);
			KeyPool.Cooldown latest = (status == KeyStatus.COOLING_DOWN) ? pool.latestCooldown(key, now) : null;
			KeyState lastFailure = pool.lastFailure(key);
			List<CooldownDescriptor> cooldowns = new ArrayList<>();
			for (KeyPool.Cooldown cooldown : pool.cooldowns(key, now)) {
				cooldowns.add(new CooldownDescriptor(cooldown.modelClass(), iso(cooldown.until()),
						KeyState.ceilSeconds(cooldown.remainingAt(now)), cooldown.reason().wireName()));
			}
			Map<String, Map<String, RateLimitDescriptor>> rateLimits = new LinkedHashMap<>();
			pool.rateLimits(key).forEach((modelClass, report) -> {
				Map<String, RateLimitDescriptor> resources = new LinkedHashMap<>();
				report.readings()
					.forEach((resource, reading) -> resources.put(resource.wireName(),
							new RateLimitDescriptor(reading.limit(), reading.remaining(), iso(reading.reset()))));
				rateLimits.put(modelClass, resources);
			});
			keys.add(new KeyDescriptor(key.id(), key.hint(), status.wireName(),
					iso((latest != null) ? latest.until() : null),
					(latest != null) ? KeyState.ceilSeconds(latest.remainingAt(now)) : 0, lastFailure.lastStatus(),
					iso(lastFailure.lastFailureAt()), key.group(), cooldowns, rateLimits));
		}
		KeyStateStore.StoreHealth store = pool.store().health();
		return new PoolDescriptor(pool.name(), pool.provider(), new StoreDescriptor(store.type(), store.connected()),
				counts, keys);
	}

	private static String iso(Instant instant) {
		return (instant != null) ? instant.toString() : null;
	}

	/**
	 * Every configured pool.
	 *
	 * @param pools the pools in configuration order
	 */
	public record KeyPoolsDescriptor(List<PoolDescriptor> pools) {
	}

	/**
	 * One pool as operators see it.
	 *
	 * @param pool the pool name
	 * @param provider the provider dialect
	 * @param store where the key state is kept and whether it is reachable
	 * @param counts how many keys are in each state ({@code available}, {@code cooling_down},
	 * {@code disabled}), all three always present
	 * @param keys the keys, primary first
	 */
	public record PoolDescriptor(String pool, String provider, StoreDescriptor store, Map<String, Integer> counts,
			List<KeyDescriptor> keys) {
	}

	/**
	 * The key state store behind a pool.
	 *
	 * @param type {@code memory} or {@code redis}
	 * @param connected whether the store reaches its backend (always true in memory)
	 */
	public record StoreDescriptor(String type, boolean connected) {
	}

	/**
	 * One key.
	 *
	 * @param id the configured key id
	 * @param hint the secret masked: at most 4 characters at each end
	 * @param state {@code available}, {@code cooling_down} or {@code disabled}
	 * @param cooldownUntil ISO-8601 end of the cooldown while cooling down, else {@code null}
	 * @param cooldownRemainingSeconds whole seconds until the cooldown ends, rounded up; 0 when
	 * not cooling down
	 * @param lastStatus upstream status of the last failure that marked the key, or
	 * {@code null}
	 * @param lastFailureAt ISO-8601 time of that failure, or {@code null}
	 * @param group the key's rate-limit group, or {@code null}
	 * @param cooldowns every running cooldown, key-wide ({@code *}) first, then by model class;
	 * {@code cooldownUntil} is the latest of them
	 * @param rateLimits the limits the key last reported, by model class and resource
	 */
	public record KeyDescriptor(String id, String hint, String state, String cooldownUntil,
			long cooldownRemainingSeconds, Integer lastStatus, String lastFailureAt, String group,
			List<CooldownDescriptor> cooldowns, Map<String, Map<String, RateLimitDescriptor>> rateLimits) {
	}

	/**
	 * One running cooldown of a key.
	 *
	 * @param modelClass the model class it holds back, {@code *} for every class
	 * @param until ISO-8601 end
	 * @param remainingSeconds whole seconds until it ends, rounded up
	 * @param reason {@code rate_limited} (the provider answered 429) or {@code proactive} (its
	 * rate-limit headers said the next request would be refused)
	 */
	public record CooldownDescriptor(String modelClass, String until, long remainingSeconds, String reason) {
	}

	/**
	 * One resource's figures as the key last reported them.
	 *
	 * @param limit the limit, or {@code null} when not reported
	 * @param remaining what remained
	 * @param reset ISO-8601 time it is replenished, or {@code null}
	 */
	public record RateLimitDescriptor(Long limit, long remaining, String reset) {
	}

}
