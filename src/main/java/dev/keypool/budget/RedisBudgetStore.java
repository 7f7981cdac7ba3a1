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

import reactor.core.publisher.Mono;

import org.springframework.core.io.ClassPathResource;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import org.springframework.data.redis.core.script.RedisScript;
import org.springframework.util.StreamUtils;

/**
 * Budgets shared by every replica through Redis: one Lua script per check (which also holds the
 * request's token reservation, as a field of the tokens hash), one per settlement, timed by the
 * Redis server's clock. Errors and timeouts reach the caller, which fails open
 * ({@link ClientBudgets}). Keys: {@code <prefix>budget:<client>:requests|tokens|day:<n>}, with
 * expiries, holding only client ids and counts.
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
				Long.toString(RESERVATION_TTL_MS));
		return run(CHECK, keys(client), args).map((answer) -> answer.get(0).equals("1")
				? BudgetDecision.allowed((answer.size() > 1) ? answer.get(1) : null)
				: BudgetDecision.refused(answer.get(1), Long.parseLong(answer.get(2))));
	}

	@Override
	public Mono<Void> settle(String client, String reservation, long tokens) {
		return run(CHARGE, List.of(tokensKey(client), dayKey(client)),
				List.of(Long.toString(Math.max(0, tokens)), (reservation != null) ? reservation : "")).then();
	}

	@Override
	public Mono<ClientUse> use(String client, ClientLimits limits) {
		return run(USE, keys(client), List.of()).map((answer) -> new ClientUse(
				(limits.requestsPerMinute() != null) ? Long.valueOf(answer.get(0)) : null,
				Long.parseLong(answer.get(1)), Long.parseLong(answer.get(2))));
	}

	private Mono<List<String>> run(RedisScript<List<String>> script, List<String> keys, List<String> args) {
		return Mono.defer(() -> this.redis.execute(script, keys, args).collectList())
			.timeout(this.timeout)
			.map(RedisBudgetStore::flatten);
	}

	private List<String> keys(String client) {
		return List.of(this.prefix + client + ":requests", tokensKey(client), dayKey(client));
	}

	private String tokensKey(String client) {
		return this.prefix + client + ":tokens";
	}

	private String dayKey(String client) {
		return this.prefix + client + ":day:";
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
