package dev.keypool.budget;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import reactor.core.publisher.Mono;

/**
 * Budgets counted in this process, on the injected clock. State per client is bounded: the
 * request log holds at most the client's requests-per-minute limit, tokens sit in 60
 * one-second buckets, plus one day counter and the reservations of the client's requests in
 * flight.
 */
public class LocalBudgetStore implements BudgetStore {

	static final long MINUTE_MS = 60_000;

	static final long DAY_MS = 86_400_000;

	private final Clock clock;

	private final Map<String, Window> windows = new ConcurrentHashMap<>();

	private final AtomicLong reservations = new AtomicLong();

	public LocalBudgetStore(Clock clock) {
		this.clock = clock;
	}

	@Override
	public Mono<BudgetDecision> check(String client, ClientLimits limits, long reserve) {
		return Mono.fromSupplier(() -> window(client).check(limits, Math.max(0, reserve), this.clock.millis(),
				Long.toString(this.reservations.incrementAndGet())));
	}

	@Override
	public Mono<Void> settle(String client, String reservation, long tokens) {
		return Mono.fromRunnable(() -> window(client).settle(reservation, tokens, this.clock.millis()));
	}

	@Override
	public Mono<ClientUse> use(String client, ClientLimits limits) {
		return Mono.fromSupplier(() -> window(client).use(limits, this.clock.millis()));
	}

	private Window window(String client) {
		return this.windows.computeIfAbsent(client, (id) -> new Window());
	}

	/** What a request needs free in a limit: its reservation, at least 1 and at most the limit. */
	static long need(long reserve, long limit) {
		return Math.max(1, Math.min(reserve, limit));
	}

	/** One client's counts; every method holds the lock for a few array operations. */
	private static final class Window {

		private final ArrayDeque<Long> requests = new ArrayDeque<>();

		private final long[] secondTokens = new long[60];

		private final long[] secondOf = new long[60];

		private long day = Long.MIN_VALUE;

		private long dayTokens;

		/** Reservations held, by name: {tokens, expiry in epoch millis}. */
		private final Map<String, long[]> held = new LinkedHashMap<>();

		private long heldTokens;

		Window() {
			java.util.Arrays.fill(this.secondOf, Long.MIN_VALUE);
		}

		synchronized BudgetDecision check(ClientLimits limits, long reserve, long now, String name) {
			rollDay(now);
			dropExpired(now);
			if (limits.tokensPerDay() != null
					&& this.dayTokens + this.heldTokens + need(reserve, limits.tokensPerDay()) > limits.tokensPerDay()) {
				return BudgetDecision.refused(BudgetDecision.TOKENS_PER_DAY, (this.day + 1) * DAY_MS - now);
			}
			if (limits.tokensPerMinute() != null) {
				long retry = tokensRetryAfter(limits.tokensPerMinute(),
						this.heldTokens + need(reserve, limits.tokensPerMinute()), now);
				if (retry >= 0) {
					return BudgetDecision.refused(BudgetDecision.TOKENS_PER_MINUTE, retry);
				}
			}
			if (limits.requestsPerMinute() != null) {
				dropOldRequests(now);
				if (this.requests.size() >= limits.requestsPerMinute()) {
					return BudgetDecision.refused(BudgetDecision.REQUESTS_PER_MINUTE,
							this.requests.peekFirst() + MINUTE_MS - now);
				}
				this.requests.addLast(now);
			}
			if (reserve == 0 || (limits.tokensPerMinute() == null && limits.tokensPerDay() == null)) {
				return BudgetDecision.ALLOWED;
			}
			this.held.put(name, new long[] { reserve, now + RESERVATION_TTL_MS });
			this.heldTokens += reserve;
			return BudgetDecision.allowed(name);
		}

		synchronized void settle(String reservation, long tokens, long now) {
			long[] reserved = (reservation != null) ? this.held.remove(reservation) : null;
			if (reserved != null) {
				this.heldTokens -= reserved[0];
			}
			if (tokens > 0) {
				charge(tokens, now);
			}
		}

		private void charge(long tokens, long now) {
			rollDay(now);
			this.dayTokens += tokens;
			long second = Math.floorDiv(now, 1000);
			int slot = (int) Math.floorMod(second, 60L);
			if (this.secondOf[slot] != second) {
				this.secondOf[slot] = second;
				this.secondTokens[slot] = 0;
			}
			this.secondTokens[slot] += tokens;
		}

		synchronized ClientUse use(ClientLimits limits, long now) {
			rollDay(now);
			Long requests = null;
			if (limits.requestsPerMinute() != null) {
				dropOldRequests(now);
				requests = (long) this.requests.size();
			}
			return new ClientUse(requests, minuteTokens(now), this.dayTokens);
		}

		/**
		 * Milliseconds until enough buckets leave the window for {@code extra} more tokens to fit
		 * in the limit, or -1 when they fit now; a minute when only reservations settling can make room.
		 */
		private long tokensRetryAfter(long limit, long extra, long now) {
			long used = minuteTokens(now) + extra;
			if (used <= limit) {
				return -1;
			}
			long second = Math.floorDiv(now, 1000);
			for (long s = second - 59; s <= second; s++) {
				int slot = (int) Math.floorMod(s, 60L);
				if (this.secondOf[slot] == s) {
					used -= this.secondTokens[slot];
					if (used <= limit) {
						return (s + 60) * 1000 - now;
					}
				}
			}
			return MINUTE_MS;
		}

		private long minuteTokens(long now) {
			long second = Math.floorDiv(now, 1000);
			long sum = 0;
			for (int i = 0; i < 60; i++) {
				if (this.secondOf[i] > second - 60 && this.secondOf[i] <= second) {
					sum += this.secondTokens[i];
				}
			}
			return sum;
		}

		private void dropExpired(long now) {
			for (Iterator<long[]> each = this.held.values().iterator(); each.hasNext();) {
				long[] reserved = each.next();
				if (reserved[1] <= now) {
					this.heldTokens -= reserved[0];
					each.remove();
				}
			}
		}

		private void dropOldRequests(long now) {
			while (!this.requests.isEmpty() && this.requests.peekFirst() <= now - MINUTE_MS) {
				this.requests.removeFirst();
			}
		}

		private void rollDay(long now) {
			long today = Math.floorDiv(now, DAY_MS);
			if (today != this.day) {
				this.day = today;
				this.dayTokens = 0;
			}
		}

	}

}
