package dev.keypool.budget;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionException;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import org.springframework.core.io.ClassPathResource;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;
import org.springframework.util.StreamUtils;

/**
 * Budgets shared by every replica through Redis: one Lua script per check, one per charge,
 * timed by the Redis server's clock. Errors and timeouts reach the caller, which fails open
 * ({@link ClientBudgets}). Keys: {@code <prefix>budget:{<client>}:requests|tokens|day:<n>}, with
 * expiries, holding only client ids and counts; the client is the hash tag, so each script's
 * keys share one slot of a Redis Cluster.
 */
public class RedisBudgetStore implements BudgetStore {

	private static final RedisScript<List<String>> CHECK = script("META-INF/scripts/keypool-budget-check.lua");

	private static final RedisScript<List<String>> CHARGE = script("META-INF/scripts/keypool-budget-charge.lua");

	private static final RedisScript<List<String>> USE = script("META-INF/scripts/keypool-budget-use.lua");

	private final ReactiveStringRedisTemplate redis;

	private final String prefix;

	private final Duration timeout;

	/** Random once, at construction: never on an event loop, where it could block on entropy. */
	private final String memberPrefix = UUID.randomUUID() + ":";

	private final AtomicLong memberCounter = new AtomicLong();

	/** Whether the last call reached Redis; false until the first one did. */
	private volatile boolean connected;

	public RedisBudgetStore(ReactiveStringRedisTemplate redis, String prefix, Duration timeout) {
		this.redis = redis;
		this.prefix = prefix + "budget:";
		this.timeout = timeout;
	}

	@Override
	public Mono<BudgetDecision> check(String client, ClientLimits limits) {
		List<String> args = List.of(Long.toString(ClientLimits.orZero(limits.requestsPerMinute())),
				Long.toString(ClientLimits.orZero(limits.tokensPerMinute())),
				Long.toString(ClientLimits.orZero(limits.tokensPerDay())),
				this.memberPrefix + this.memberCounter.incrementAndGet());
		return run(CHECK, keys(client), args).map((answer) -> answer.get(0).equals("1") ? BudgetDecision.ALLOWED
				: BudgetDecision.refused(answer.get(1), Long.parseLong(answer.get(2))));
	}

	@Override
	public Mono<Void> charge(String client, long tokens) {
		return run(CHARGE, List.of(tokensKey(client), dayKey(client)), List.of(Long.toString(tokens))).then();
	}

	@Override
	public Mono<ClientUse> use(String client, ClientLimits limits) {
		return run(USE, keys(client), List.of()).map((answer) -> new ClientUse(
				(limits.requestsPerMinute() != null) ? Long.valueOf(answer.get(0)) : null,
				Long.parseLong(answer.get(1)), Long.parseLong(answer.get(2))));
	}

	private Mono<List<String>> run(RedisScript<List<String>> script, List<String> keys, List<String> args) {
		Mono<List<List<String>>> call = Mono.defer(() -> this.redis.execute(script, keys, args).collectList());
		if (!this.connected) {
			// until a call has gone through, getting the connection may open it, synchronously
			// and under the connection factory's lock (a wrong password or an unreachable Redis
			// keeps it that way): never on the request's event loop
			call = call.subscribeOn(Schedulers.boundedElastic());
		}
		return call.timeout(this.timeout)
			.doOnNext((answer) -> this.connected = true)
			.doOnError((ex) -> this.connected = redisAnswered(ex))
			.map(RedisBudgetStore::flatten);
	}

	/** Whether Redis answered with an error, as opposed to not answering (or not letting us in). */
	private static boolean redisAnswered(Throwable ex) {
		for (Throwable cause = ex; cause != null; cause = (cause.getCause() != cause) ? cause.getCause() : null) {
			if (cause instanceof RedisConnectionException) {
				return false;
			}
		}
		for (Throwable cause = ex; cause != null; cause = (cause.getCause() != cause) ? cause.getCause() : null) {
			if (cause instanceof RedisCommandExecutionException) {
				return true;
			}
		}
		return false;
	}

	private List<String> keys(String client) {
		return List.of(clientKey(client) + "requests", tokensKey(client), dayKey(client));
	}

	private String clientKey(String client) {
		return this.prefix + "{" + client + "}:";
	}

	private String tokensKey(String client) {
		return clientKey(client) + "tokens";
	}

	/** The scripts append the UTC day number: a key they do not declare, in the same slot. */
	private String dayKey(String client) {
		return clientKey(client) + "day:";
	}

	private static List<String> flatten(List<List<String>> lists) {
		List<String> all = new ArrayList<>();
		lists.forEach(all::addAll);
		return all;
	}

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
