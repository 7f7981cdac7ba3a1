package dev.keypool.state;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

import dev.keypool.pool.CooldownReason;
import dev.keypool.pool.KeyState;
import dev.keypool.pool.ModelClasses;
import reactor.core.publisher.Mono;

import org.springframework.core.io.ClassPathResource;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;
import org.springframework.util.StreamUtils;

/**
 * The two Lua scripts of the Redis store and how their arguments and answers read: the write
 * script applies one change to one (key, scope) and announces it, the load script reads the
 * whole state of one pool in one step. Redis key names live here too. Only pool names, key ids, model
 * classes and facts are written; never a secret.
 */
final class RedisStateScripts {

	private static final RedisScript<List<String>> WRITE_SCRIPT = script("META-INF/scripts/keypool-state-write.lua");

	private static final RedisScript<List<String>> LOAD_SCRIPT = script("META-INF/scripts/keypool-state-load.lua");

	private final ReactiveStringRedisTemplate redis;

	private final Names names;

	private final Duration timeout;

	/**
	 * Random once per store, at construction: UUID.randomUUID() per write would read the
	 * system's entropy source on an event-loop thread (BlockHound caught it).
	 */
	private final String epochPrefix = UUID.randomUUID() + ":";

	private final AtomicLong epochCounter = new AtomicLong();

	RedisStateScripts(ReactiveStringRedisTemplate redis, String prefix, Duration timeout) {
		this.redis = redis;
		this.names = new Names(prefix);
		this.timeout = timeout;
	}

	Names names() {
		return this.names;
	}

	/**
	 * Runs the write script for one (key, scope).
	 *
	 * @param op {@code cooldown}, {@code disable} or {@code reset}
	 * @param status the upstream status, {@code ""} for a reset, {@code "0"} for a proactive mark
	 * @param cooldownMs cooldown length from Redis' now, or {@code "0"}
	 * @param untilMs absolute deadline (re-publishing one Redis computed before), or {@code "0"}
	 * @param atMs time of the failure, or {@code "0"} for Redis' now
	 * @param reason the cooldown's reason, or {@code ""}
	 */
	Mono<Result> write(Slot slot, String op, String status, String cooldownMs, String untilMs, String atMs,
			String reason) {
		return write(slot, op, status, cooldownMs, untilMs, atMs, reason, 0);
	}

	/**
	 * Runs the write script to give back a fact this replica knew as of {@code knownAt} (a
	 * version of the Redis that lost it): Redis keeps a reset of the key made after that
	 * instead, and answers with the state it keeps.
	 */
	Mono<Result> republish(Slot slot, String op, String status, String untilMs, String atMs, String reason,
			long knownAt) {
		return write(slot, op, status, "0", untilMs, atMs, reason, Math.max(1, knownAt));
	}

	private Mono<Result> write(Slot slot, String op, String status, String cooldownMs, String untilMs, String atMs,
			String reason, long knownAt) {
		String pool = slot.pool();
		List<String> keys = List.of(this.names.entry(slot), this.names.index(pool), this.names.version(pool),
				this.names.epoch(pool), this.names.resets(pool));
		List<String> args = List.of(op, slot.pool(), slot.keyId(), status, cooldownMs, untilMs, atMs,
				this.names.channel(), newEpoch(), slot.scope(), reason, Long.toString(knownAt),
				this.names.entry(new Slot(slot.pool(), slot.keyId(), ModelClasses.KEY_WIDE)));
		return Mono.defer(() -> this.redis.execute(WRITE_SCRIPT, keys, args).collectList())
			.timeout(this.timeout)
			.map((lists) -> Result.parse(flatten(lists)));
	}

	/** Runs the load script: every (key, scope) of one pool as of one version. */
	Mono<Snapshot> load(String pool) {
		List<String> keys = List.of(this.names.index(pool), this.names.version(pool), this.names.epoch(pool));
		return Mono.defer(() -> this.redis.execute(LOAD_SCRIPT, keys, List.of(newEpoch())).collectList())
			.timeout(this.timeout)
			.map((lists) -> Snapshot.parse(pool, flatten(lists)));
	}

	/**
	 * The epoch marker is created by whichever call finds none, with a value never used
	 * before: a different epoch than the last one seen means Redis lost its data.
	 */
	private String newEpoch() {
		return this.epochPrefix + this.epochCounter.incrementAndGet();
	}

	private static List<String> flatten(List<List<String>> lists) {
		if (lists.size() == 1) {
			return lists.get(0);
		}
		List<String> all = new ArrayList<>();
		lists.forEach(all::addAll);
		return all;
	}

	static KeyState parseState(String disabled, String untilMs, String status, String atMs, String reason) {
		long until = Long.parseLong(untilMs);
		long at = Long.parseLong(atMs);
		Instant deadline = (until > 0) ? Instant.ofEpochMilli(until) : null;
		return new KeyState("1".equals(disabled), deadline,
				(status == null || status.isEmpty() || "0".equals(status)) ? null : Integer.valueOf(status),
				(at > 0) ? Instant.ofEpochMilli(at) : null, (deadline != null) ? CooldownReason.of(reason) : null);
	}

	/** Entries and messages from before scopes existed are key-wide. */
	static String scopeOf(String scope) {
		return (scope == null || scope.isEmpty()) ? ModelClasses.KEY_WIDE : scope;
	}

	/**
	 * Redis key names, all under the prefix. Every key of a pool carries the pool as its hash
	 * tag ({@code <prefix>{<pool>}:...}), so each script touches one hash slot and runs on a
	 * Redis Cluster; each pool has its own index, version counter and epoch marker for that
	 * reason. The change channel is one for all pools: in a Cluster a PUBLISH reaches the
	 * subscribers on every node.
	 */
	record Names(String prefix) {

		/** {@code <prefix>{<pool>}:}: everything of one pool lives in the tag's slot. */
		String pool(String pool) {
			return this.prefix + "{" + pool + "}:";
		}

		String entry(Slot slot) {
			if (slot.isKeyWide()) {
				return pool(slot.pool()) + "key:" + slot.keyId();
			}
			return pool(slot.pool()) + "scope:" + slot.keyId() + ":" + slot.scope();
		}

		String index(String pool) {
			return pool(pool) + "keys";
		}

		String version(String pool) {
			return pool(pool) + "version";
		}

		String epoch(String pool) {
			return pool(pool) + "epoch";
		}

		/** When each key of the pool was last reset, so a replica back from an outage does not undo it. */
		String resets(String pool) {
			return pool(pool) + "resets";
		}

		String channel() {
			return this.prefix + "changes";
		}

	}

	/** One key-wide or model-class scope of a key. */
	record Slot(String pool, String keyId, String scope) {

		boolean isKeyWide() {
			return ModelClasses.KEY_WIDE.equals(this.scope);
		}

	}

	/** The script's answer to a write. */
	record Result(long version, String epoch, KeyState state) {

		static Result parse(List<String> fields) {
			return new Result(Long.parseLong(fields.get(0)), fields.get(1), parseState(fields.get(2), fields.get(3),
					fields.get(4), fields.get(5), (fields.size() > 6) ? fields.get(6) : null));
		}

	}

	/**
	 * The whole state of one pool as of one version.
	 *
	 * @param before the pool's version counter before this load: lower than a version this
	 * replica saw means the Redis lacks changes it confirmed (a replica promoted before they
	 * reached it)
	 */
	record Snapshot(String pool, String epoch, long version, long before, Map<Slot, KeyState> states) {

		static Snapshot parse(String pool, List<String> fields) {
			Map<Slot, KeyState> states = new HashMap<>();
			for (int i = 3; i + 7 < fields.size(); i += 8) {
				states.put(new Slot(fields.get(i), fields.get(i + 1), scopeOf(fields.get(i + 6))),
						parseState(fields.get(i + 2), fields.get(i + 3), fields.get(i + 4), fields.get(i + 5),
								fields.get(i + 7)));
			}
			return new Snapshot(pool, fields.get(0), Long.parseLong(fields.get(1)), Long.parseLong(fields.get(2)),
					states);
		}

	}

	/**
	 * Reads the script text once, at class initialization: a resource-backed script would read
	 * its file lazily on first use, which is on a Redis event-loop thread (BlockHound caught it).
	 */
	@SuppressWarnings({ "rawtypes", "unchecked" })
	private static RedisScript<List<String>> script(String location) {
		try (InputStream in = new ClassPathResource(location).getInputStream()) {
			return (RedisScript) RedisScript.of(StreamUtils.copyToString(in, StandardCharsets.UTF_8), List.class);
		}
		catch (IOException ex) {
			throw new UncheckedIOException("cannot read " + location, ex);
		}
	}

}
