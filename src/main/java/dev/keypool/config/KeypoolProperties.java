package dev.keypool.config;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.boot.convert.DurationUnit;
import org.springframework.util.unit.DataSize;

/**
 * Configuration of keypool-gateway: the pools of provider keys, the clients allowed to use
 * them, and how key state is kept.
 *
 * @param maxRequestBody Largest request body the gateway accepts, pooled or BYOK; larger
 * requests get a 413 {@code request_too_large} and nothing is sent upstream.
 * @param maxBufferedBytes Memory shared by the request bodies held for pooled requests (each
 * is held whole so it can be replayed to the next key); a request that would exceed it gets
 * a 503 {@code overloaded_error} with {@code Retry-After: 1}.
 * @param streamIdleTimeout How long an event stream may send nothing before the gateway ends
 * it with an {@code event: error} frame; a bare number means seconds.
 * @param requestBodyTimeout How long a request body may take to arrive, in total, counted from
 * when the gateway starts reading it (pooled: while it is held for replay; BYOK: while it is
 * streamed upstream). A body not complete by then gets a 408 in the provider's shape and its
 * upstream request, if any, is aborted. Total rather than idle time, so a body trickled a byte
 * at a time cannot hold a connection open for long. A bare number means seconds.
 * @param admin Who may change key state through actuator.
 * @param state Where key state is kept.
 * @param clients Callers whose token selects pooled mode.
 * @param pools Pools of provider keys by name; a route uses one with
 * {@code KeyFailover=<name>}.
 * @param accessLog Log one structured INFO line per request on a {@code KeyFailover} route
 * (logger {@code dev.keypool.usage.AccessLog}): client, pool, key, attempts, status, model,
 * tokens, duration, session; never a token or secret.
 * @param reload How pools, keys and client tokens are re-read while the gateway runs.
 */
@ConfigurationProperties("keypool")
public record KeypoolProperties(@DefaultValue("32MB") DataSize maxRequestBody,
		@DefaultValue("256MB") DataSize maxBufferedBytes,
		@DefaultValue("120s") @DurationUnit(ChronoUnit.SECONDS) Duration streamIdleTimeout,
		@DefaultValue("30s") @DurationUnit(ChronoUnit.SECONDS) Duration requestBodyTimeout, @DefaultValue Admin admin,
		@DefaultValue State state, List<Client> clients, Map<String, Pool> pools,
		@DefaultValue("false") boolean accessLog, @DefaultValue Reload reload) {

	public KeypoolProperties {
		clients = (clients != null) ? List.copyOf(clients) : List.of();
		pools = (pools != null) ? Collections.unmodifiableMap(new LinkedHashMap<>(pools)) : Map.of();
	}

	/**
	 * Access to actuator write operations.
	 *
	 * @param token Bearer token required for actuator writes such as a key reset.
	 * @param allowUnauthenticatedWrites Allow writes without a token when none is
	 * configured; for demos and local use only.
	 */
	public record Admin(String token, @DefaultValue("false") boolean allowUnauthenticatedWrites) {

		/** Never prints the token. */
		@Override
		public String toString() {
			return "Admin[token=" + ((this.token == null || this.token.isEmpty()) ? "none" : "***")
					+ ", allowUnauthenticatedWrites=" + this.allowUnauthenticatedWrites + "]";
		}

	}

	/**
	 * Live reload of {@code keypool.*}.
	 *
	 * @param interval How often the configuration files and config trees the gateway was
	 * started from are checked for changes; a change re-reads the configuration. 0 turns the
	 * check off ({@code POST /actuator/refresh} still reloads). A bare number means seconds.
	 */
	public record Reload(@DefaultValue("10s") @DurationUnit(ChronoUnit.SECONDS) Duration interval) {

	}

	/**
	 * Where key state (cooldowns, disabled keys) is kept.
	 *
	 * @param store {@code memory} (per process) or {@code redis} (shared by all replicas).
	 * @param redis Settings of the Redis store.
	 */
	public record State(@DefaultValue("memory") StoreType store, @DefaultValue Redis redis) {

	}

	/** Kinds of key state store. */
	public enum StoreType {

		/** Per process: each replica learns about rate limits on its own. */
		MEMORY,

		/** Shared through Redis ({@code spring.data.redis.*}), fail-open. */
		REDIS

	}

	/**
	 * The Redis key state store.
	 *
	 * @param prefix Prefix of every Redis key and channel, so several gateways can share
	 * one Redis.
	 * @param resyncInterval How often a replica reloads the full state, bounding how long
	 * a missed change message can leave it wrong; a bare number means seconds.
	 */
	public record Redis(@DefaultValue("keypool:") String prefix,
			@DefaultValue("30s") @DurationUnit(ChronoUnit.SECONDS) Duration resyncInterval) {

	}

	/**
	 * A caller allowed to use the pools.
	 *
	 * @param id Label shown in logs and metrics, never the token.
	 * @param token The credential the client sends as {@code x-api-key} or
	 * {@code Authorization: Bearer}.
	 * @param limits The client's budget; none by default.
	 */
	public record Client(String id, String token, Limits limits) {

		/** Never prints the token. */
		@Override
		public String toString() {
			return "Client[id=" + this.id + ", limits=" + this.limits + "]";
		}

	}

	/**
	 * A client's budget, shared by every replica when {@code keypool.state.store} is
	 * {@code redis}. A request over any limit gets a 429 {@code rate_limit_error} and is not sent
	 * upstream. Unset limits do not apply.
	 *
	 * @param requestsPerMinute Requests in any 60 seconds.
	 * @param tokensPerMinute Tokens (input + output + cache writes) charged in the last 60
	 * seconds; a request is refused while the client is at or over it.
	 * @param tokensPerDay Tokens charged since 00:00 UTC.
	 */
	public record Limits(Long requestsPerMinute, Long tokensPerMinute, Long tokensPerDay) {

	}

	/**
	 * A pool of provider keys, tried in order for each pooled request.
	 *
	 * @param provider Provider: how keys authorize requests and how errors are worded
	 * ({@code anthropic}, {@code bedrock}, {@code vertex}).
	 * @param byok Pass requests carrying a credential that is not a client token through
	 * to the provider unchanged (single attempt); when false they get a 401.
	 * @param allowAnonymous Serve requests without any credential from the pool; for
	 * trusted in-cluster use only.
	 * @param defaultCooldown Cooldown of a rate-limited key when the response has no usable
	 * Retry-After; a bare number means seconds.
	 * @param maxCooldown Upper bound of any cooldown; a bare number means seconds.
	 * @param minCooldown Lower bound of any cooldown, so a tiny Retry-After cannot leave a
	 * limited key in rotation; a bare number means seconds.
	 * @param cooldownOn Upstream statuses that put a key into cooldown.
	 * @param disableOn Upstream statuses that disable a key until it is reset.
	 * @param keys The keys, primary first.
	 * @param strategy Order in which a request tries the keys: {@code ordered} (every request
	 * starts at the first key), {@code round-robin} (successive requests start at successive
	 * keys) or {@code headroom} (the key with the most remaining capacity for the model class
	 * first).
	 * @param stickySessions Start a session's requests at the key that last served the session,
	 * so the provider's prompt cache keeps hitting.
	 * @param sessionHeader Request header that names the caller's session.
	 * @param proactive Skip a key whose rate-limit headers say its next request would be
	 * refused, until the reported reset.
	 * @param minRemainingTokens Below this many tokens left (input, output or total), a key
	 * counts as used up for the model class.
	 * @param maxWait How long a request whose model class has no key left may be held for a key
	 * to come back; 0 turns waiting off, at most 60s.
	 * @param maxWaiting How many requests may be held at once; beyond it they get the 429 at once.
	 */
	public record Pool(@DefaultValue("anthropic") String provider, @DefaultValue("true") boolean byok,
			@DefaultValue("false") boolean allowAnonymous,
			@DefaultValue("60s") @DurationUnit(ChronoUnit.SECONDS) Duration defaultCooldown,
			@DefaultValue("15m") @DurationUnit(ChronoUnit.SECONDS) Duration maxCooldown,
			@DefaultValue("1s") @DurationUnit(ChronoUnit.SECONDS) Duration minCooldown,
			@DefaultValue("429") Set<Integer> cooldownOn,
			@DefaultValue({ "401", "403" }) Set<Integer> disableOn, List<Key> keys,
			@DefaultValue("ordered") String strategy, @DefaultValue("true") boolean stickySessions,
			@DefaultValue("x-claude-code-session-id") String sessionHeader, @DefaultValue("true") boolean proactive,
			@DefaultValue("1000") long minRemainingTokens,
			@DefaultValue("0s") @DurationUnit(ChronoUnit.SECONDS) Duration maxWait,
			@DefaultValue("1000") int maxWaiting) {

		public Pool {
			keys = (keys != null) ? List.copyOf(keys) : List.of();
		}

	}

	/**
	 * One provider key.
	 *
	 * @param id Stable label used in metrics, actuator, logs and {@code X-Keypool-Key}.
	 * @param secret The provider API key (for {@code bedrock}: a Bedrock API key, sent as
	 * {@code Authorization: Bearer}); only ever sent upstream.
	 * @param group Keys sharing one rate-limit domain (one organization or workspace, one AWS
	 * account, one Google Cloud project) have the same group: a cooldown on one applies to all
	 * of them for that model class.
	 * @param accessKeyId {@code bedrock}: AWS access key id the key signs with (instead of
	 * {@code secret}).
	 * @param secretAccessKey {@code bedrock}: AWS secret access key.
	 * @param sessionToken {@code bedrock}: AWS session token of temporary credentials.
	 * @param region {@code bedrock}: the AWS region the key signs for, such as
	 * {@code us-east-1}; it must be the region of the route's Bedrock endpoint. {@code vertex}:
	 * the Vertex AI location requests of this key go to, such as {@code us-east5}.
	 * @param credentials {@code vertex}: the service account's JSON key itself (typically from a
	 * mounted Secret); access tokens are exchanged at its {@code token_uri}.
	 * @param project {@code vertex}: the Google Cloud project requests of this key go to.
	 */
	public record Key(String id, String secret, String group, String accessKeyId, String secretAccessKey,
			String sessionToken, String region, String credentials, String project) {

		/** Never prints the secret. */
		@Override
		public String toString() {
			return "Key[id=" + this.id + ((this.group != null) ? ", group=" + this.group : "") + "]";
		}

	}

}
