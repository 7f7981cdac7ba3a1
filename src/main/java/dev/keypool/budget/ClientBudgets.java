package dev.keypool.budget;

import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import dev.keypool.usage.CountedUsage;
import dev.keypool.usage.UsageListener;

import org.springframework.web.server.ServerWebExchange;

/**
 * Per-client budgets: checked before a client's request goes upstream, charged with the
 * response's tokens (input + output + cache_creation) when it ends.
 * <p>
 * Token limits hold under concurrency: an admitted request reserves what it may use
 * ({@code max_tokens} plus an estimate of its input, see {@link #reservationFor}) until its
 * response ends; then the reservation is released and the tokens the response reported are
 * charged (settled). A request whose reservation does not fit is refused like one over its limit.
 * <p>
 * Only configured clients with at least one limit are counted; anonymous and BYOK callers
 * have no budget. The store may be shared (Redis): when it fails or is slow, requests are
 * allowed and one WARN a minute says so (fail-open, like the key state store); for 5 seconds
 * after a failure the store is not asked at all, so an unreachable Redis costs one timeout per
 * 5 seconds rather than one per request. Charges made meanwhile are lost.
 * Rejections are counted in {@code keypool.client.budget.rejections{client,limit}}.
 */
public class ClientBudgets implements UsageListener {

	static final String REJECTIONS = "keypool.client.budget.rejections";

	private static final Log logger = LogFactory.getLog(ClientBudgets.class);

	private static final long WARN_INTERVAL_MS = 60_000;

	/** After a store failure, how long checks and charges skip the store instead of each waiting for its timeout. */
	private static final long SKIP_AFTER_FAILURE_MS = 5_000;

	private static final List<String> LIMITS = List.of(BudgetDecision.REQUESTS_PER_MINUTE,
			BudgetDecision.TOKENS_PER_MINUTE, BudgetDecision.TOKENS_PER_DAY);

	/** Replaced whole by a reload, never changed in place. */
	private volatile Map<String, ClientLimits> limits = Map.of();

	private final MeterRegistry registry;

	private final BudgetStore store;

	private final Clock clock;

	private final Map<String, Counter> rejections = new ConcurrentHashMap<>();

	private final AtomicLong lastWarning = new AtomicLong(Long.MIN_VALUE);

	private volatile long skipStoreUntil = Long.MIN_VALUE;

	/**
	 * @param limits every configured client's limits, by client id, in configuration order
	 * @param store where use is counted
	 * @param clock for the day boundary reported by {@link #use()} and warning intervals
	 */
	public ClientBudgets(Map<String, ClientLimits> limits, BudgetStore store, Clock clock, MeterRegistry registry) {
		this.store = store;
		this.clock = clock;
		this.registry = registry;
		replaceLimits(limits);
	}

	/**
	 * Puts the limits of a reloaded configuration in force for the next request. Use counted so
	 * far stays with the client id; a client that gained limits gets its rejection series, one
	 * that lost them or was removed loses its series.
	 *
	 * @param next every configured client's limits, by client id, in configuration order
	 */
	public synchronized void replaceLimits(Map<String, ClientLimits> next) {
		Map<String, ClientLimits> copy = Collections.unmodifiableMap(new LinkedHashMap<>(next));
		copy.forEach((client, clientLimits) -> {
			if (clientLimits.any()) {
				for (String limit : LIMITS) {
					this.rejections.computeIfAbsent(client + "/" + limit, (name) -> Counter.builder(REJECTIONS)
						.description("Requests refused with 429 because their client was over a budget limit")
						.tag("client", client)
						.tag("limit", limit)
						.register(this.registry));
				}
			}
		});
		this.rejections.entrySet().removeIf((entry) -> {
			String client = entry.getKey().substring(0, entry.getKey().lastIndexOf('/'));
			boolean stale = !copy.getOrDefault(client, ClientLimits.NONE).any();
			if (stale) {
				this.registry.remove(entry.getValue());
			}
			return stale;
		});
		this.limits = copy;
	}

	/**
	 * Whether the client's request may go upstream; a refused request is counted in the
	 * rejections metric. Clients without limits are allowed without touching the store.
	 */
	public Mono<BudgetDecision> admit(String client) {
		return admit(client, 0);
	}

	/**
	 * Whether the client's request may go upstream with {@code reserve} tokens held for it; a
	 * refused request is counted in the rejections metric.
	 */
	public Mono<BudgetDecision> admit(String client, long reserve) {
		ClientLimits clientLimits = this.limits.getOrDefault(client, ClientLimits.NONE);
		if (!clientLimits.any() || storeSkipped()) {
			return Mono.just(BudgetDecision.ALLOWED);
		}
		return this.store.check(client, clientLimits, reserve).onErrorResume((ex) -> {
			warnFailOpen("check", ex);
			return Mono.just(BudgetDecision.ALLOWED);
		}).doOnNext((decision) -> {
			if (!decision.allowed()) {
				Counter counter = this.rejections.get(client + "/" + decision.limit());
				if (counter != null) {
					counter.increment();
				}
			}
		});
	}

	/**
	 * What a request reserves: {@code max_tokens} (output never exceeds it) plus one token per
	 * four bytes of its body, the usual size of a token of English text, which the JSON around
	 * the prompt pads; {@code max_tokens} alone for an empty body.
	 *
	 * @param maxTokens the body's top-level {@code max_tokens}, negative when absent
	 * @param bodyBytes the body's size
	 */
	public static long reservationFor(long maxTokens, long bodyBytes) {
		return Math.max(0, maxTokens) + (Math.max(0, bodyBytes) + 3) / 4;
	}

	/**
	 * {@link #admit(String, long)} for a request on {@code exchange}: an allowed request's
	 * reservation stays on the exchange until its usage is counted or {@link #release} is called.
	 */
	public Mono<BudgetDecision> admit(ServerWebExchange exchange, String client, long reserve) {
		return admit(client, reserve).doOnNext((decision) -> {
			if (decision.allowed() && decision.reservation() != null) {
				exchange.getAttributes().put(Reservation.ATTRIBUTE, new Reservation(client, decision.reservation()));
			}
		});
	}

	/**
	 * Gives back the reservation of a request that ended without a counted usage (an error,
	 * a failure before any response); nothing once its usage was counted. Safe to call twice.
	 */
	public void release(ServerWebExchange exchange) {
		Reservation reservation = exchange.getAttribute(Reservation.ATTRIBUTE);
		if (reservation != null && reservation.take()) {
			settle(reservation.client, reservation.name, 0);
		}
	}

	/** Charges a finished response's tokens to its client, in the background. */
	@Override
	public void counted(CountedUsage usage) {
		settle(usage.client(), null, usage.charged());
	}

	/** Settles the request's reservation, if any, with the response's tokens, in the background. */
	@Override
	public void counted(ServerWebExchange exchange, CountedUsage usage) {
		Reservation reservation = exchange.getAttribute(Reservation.ATTRIBUTE);
		boolean held = reservation != null && reservation.client.equals(usage.client()) && reservation.take();
		settle(usage.client(), held ? reservation.name : null, usage.charged());
	}

	private void settle(String client, String reservation, long tokens) {
		ClientLimits clientLimits = this.limits.getOrDefault(client, ClientLimits.NONE);
		// a reservation is given back even while the store is skipped: left there, it would
		// hold the client's budget until it expires
		if (reservation == null && (!clientLimits.any() || tokens <= 0 || storeSkipped())) {
			return;
		}
		this.store.settle(client, reservation, tokens).subscribe(null, (ex) -> warnFailOpen("charge", ex));
	}

	/** Every configured client's limits and, for those with limits, use now. */
	public Mono<List<ClientBudget>> use() {
		Instant nextDay = LocalDate.ofInstant(this.clock.instant(), ZoneOffset.UTC)
			.plusDays(1)
			.atStartOfDay(ZoneOffset.UTC)
			.toInstant();
		return Flux.fromIterable(this.limits.entrySet())
			.concatMap((entry) -> useOf(entry.getKey(), entry.getValue())
				.map((use) -> new ClientBudget(entry.getKey(), entry.getValue(), use, nextDay))
				.defaultIfEmpty(new ClientBudget(entry.getKey(), entry.getValue(), null, nextDay)))
			.collectList();
	}

	private Mono<ClientUse> useOf(String client, ClientLimits clientLimits) {
		if (!clientLimits.any()) {
			return Mono.empty();
		}
		return this.store.use(client, clientLimits).onErrorResume((ex) -> {
			warnFailOpen("read", ex);
			return Mono.empty();
		});
	}

	private boolean storeSkipped() {
		return this.skipStoreUntil != Long.MIN_VALUE && this.clock.millis() < this.skipStoreUntil;
	}

	private void warnFailOpen(String operation, Throwable error) {
		long now = this.clock.millis();
		this.skipStoreUntil = now + SKIP_AFTER_FAILURE_MS;
		long last = this.lastWarning.get();
		if ((last == Long.MIN_VALUE || now - last >= WARN_INTERVAL_MS) && this.lastWarning.compareAndSet(last, now)) {
			logger.warn("Client budget store unavailable (" + operation + " failed: " + error.getClass().getSimpleName()
					+ "); allowing requests without budget checks until it is back (logged at most once a minute)");
		}
	}

	/**
	 * One client's budget as the endpoint shows it.
	 *
	 * @param client the client id
	 * @param limits its limits
	 * @param use its use now, {@code null} without limits or when the store cannot be read
	 * @param dayResetsAt when the per-day count starts again (00:00 UTC)
	 */
	public record ClientBudget(String client, ClientLimits limits, ClientUse use, Instant dayResetsAt) {
	}

	/** The tokens a request holds until it is settled, once. */
	private static final class Reservation {

		static final String ATTRIBUTE = Reservation.class.getName();

		private final String client;

		private final String name;

		private final AtomicBoolean settled = new AtomicBoolean();

		Reservation(String client, String name) {
			this.client = client;
			this.name = name;
		}

		boolean take() {
			return this.settled.compareAndSet(false, true);
		}

	}


}
