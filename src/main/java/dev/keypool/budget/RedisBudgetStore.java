package dev.keypool.budget;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
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
 * Budgets shared by every replica through Redis: one Lua script per check (which also holds the
 * request's token reservation, as a field of the tokens hash), one per settlement, timed by the
 * Redis server's clock. Errors and timeouts reach the caller, which fails open
 * ({@link ClientBudgets}). Keys: {@code <prefix>budget:{<client>}:requests|tokens|day:<n>|seeded},
 * with expiries, holding only client ids, replica ids and counts; the client is the hash tag, so
 * each script's keys share one slot of a Redis Cluster.
 * <p>
 * A Redis that lost its data ({@code FLUSHALL}, failover to an empty replica) would reset every
 * budget to zero. So each replica keeps its own charges of the current minute and day per
 * client, and every script first asks whether this Redis knows the replica (the {@code seeded}
 * set); when it does not, the replica writes its charges back, once, and asks again.
 */
public class RedisBudgetStore implements BudgetStore {

	private static final RedisScript<List<String>> CHECK = script("META-INF/scripts/keypool-budget-check.lua");

	private static final RedisScript<List<String>> CHARGE = script("META-INF/scripts/keypool-budget-charge.lua");

	private static final RedisScript<List<String>> USE = script("META-INF/scripts/keypool-budget-use.lua");

	private static final RedisScript<List<String>> SEED = script("META-INF/scripts/keypool-budget-seed.lua");

	private static final String SEED_ANSWER = "seed";

	private final ReactiveStringRedisTemplate redis;

	private final String prefix;

	private final Duration timeout;

	/** Random once, at construction: never on an event loop, where it could block on entropy. */
	private final String memberPrefix = UUID.randomUUID() + ":";

	private final AtomicLong memberCounter = new AtomicLong();

	/** Whether the last call reached Redis; false until the first one did. */
	private volatile boolean connected;

	/** This replica's id in the {@code seeded} sets. */
	private final String replica = this.memberPrefix.substring(0, this.memberPrefix.length() - 1);

	/** This replica's own charges, by client: what it writes back to a Redis that lost them. */
	private final Map<String, OwnCharges> own = new ConcurrentHashMap<>();

	public RedisBudgetStore(ReactiveStringRedisTemplate redis, String prefix, Duration timeout) {
		this.redis = redis;
		this.prefix = prefix + "budget:";
		this.timeout = timeout;
	}

	@Override
	public Mono<BudgetDecision> check(String client, ClientLimits limits, long reserve) {
		List<String> args = List.of(Long.toString(ClientLimits.orZero(limits.requestsPerMinute())),
				Long.toString(ClientLimits.orZero(limits.tokensPerMinute())),
				Long.toString(ClientLimits.orZero(limits.tokensPerDay())),
				this.memberPrefix + this.memberCounter.incrementAndGet(), Long.toString(Math.max(0, reserve)),
				Long.toString(RESERVATION_TTL_MS), this.replica);
		// a Redis that forgot this replica again between the write-back and the retry admits the request
		return seeded(client, run(CHECK, keys(client), args)).map((answer) -> !answer.get(0).equals("0")
				? BudgetDecision.allowed((answer.size() > 1) ? answer.get(1) : null)
				: BudgetDecision.refused(answer.get(1), Long.parseLong(answer.get(2))));
	}

	@Override
	public Mono<Void> settle(String client, String reservation, long tokens) {
		long charged = Math.max(0, tokens);
		return seeded(client,
				run(CHARGE, List.of(tokensKey(client), dayKey(client), seededKey(client)),
						List.of(Long.toString(charged), (reservation != null) ? reservation : "", this.replica)))
			.doOnNext((answer) -> {
				if (charged > 0 && answer.size() > 1) {
					this.own.computeIfAbsent(client, (id) -> new OwnCharges()).add(Long.parseLong(answer.get(1)), charged);
				}
			})
			.then();
	}

	/** Runs {@code call}; when Redis does not know this replica, writes its charges back first and runs it again. */
	private Mono<List<String>> seeded(String client, Mono<List<String>> call) {
		return call.flatMap((answer) -> SEED_ANSWER.equals(answer.get(0)) ? seed(client).then(call) : Mono.just(answer));
	}

	private Mono<List<String>> seed(String client) {
		OwnCharges charges = this.own.get(client);
		List<String> args = new ArrayList<>(List.of(this.replica));
		if (charges != null) {
			charges.appendTo(args);
		}
		else {
			args.add("0");
			args.add("0");
		}
		return run(SEED, List.of(tokensKey(client), dayKey(client), seededKey(client)), args);
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
		return List.of(clientKey(client) + "requests", tokensKey(client), dayKey(client), seededKey(client));
	}

	private String clientKey(String client) {
		return this.prefix + "{" + client + "}:";
	}

	private String seededKey(String client) {
		return clientKey(client) + "seeded";
	}

	private String tokensKey(String client) {
		return clientKey(client) + "tokens";
	}

	/** The scripts append the UTC day number: a key they do not declare, in the same slot. */
	private String dayKey(String client) {
		return clientKey(client) + "day:";
	}

	/**
	 * One client's charges made through this replica, as Redis timed them: the tokens of each
	 * of the last 60 seconds charged, and of the day.
	 */
	private static final class OwnCharges {

		private final long[] secondTokens = new long[60];

		private final long[] secondOf = new long[60];

		private long day = Long.MIN_VALUE;

		private long dayTokens;

		OwnCharges() {
			java.util.Arrays.fill(this.secondOf, Long.MIN_VALUE);
		}

		synchronized void add(long second, long tokens) {
			long today = Math.floorDiv(second, 86_400L);
			if (today != this.day) {
				this.day = today;
				this.dayTokens = 0;
			}
			this.dayTokens += tokens;
			int slot = (int) Math.floorMod(second, 60L);
			if (this.secondOf[slot] != second) {
				this.secondOf[slot] = second;
				this.secondTokens[slot] = 0;
			}
			this.secondTokens[slot] += tokens;
		}

		/** Day, its tokens, then second and tokens pairs (the script keeps those still in its minute). */
		synchronized void appendTo(List<String> args) {
			args.add(Long.toString(this.day));
			args.add(Long.toString(this.dayTokens));
			for (int i = 0; i < 60; i++) {
				if (this.secondOf[i] != Long.MIN_VALUE) {
					args.add(Long.toString(this.secondOf[i]));
					args.add(Long.toString(this.secondTokens[i]));
				}
			}
		}

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
