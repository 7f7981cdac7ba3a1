package dev.keypool.budget;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import reactor.core.publisher.Mono;

/**
 * Budgets counted in this process, on the injected clock. State per client is bounded: the
 * request log holds at most the client's requests-per-minute limit, tokens sit in 60
 * one-second buckets, plus one day counter.
 */
public class LocalBudgetStore implements BudgetStore {

	static final long MINUTE_MS = 60_000;

	static final long DAY_MS = 86_400_000;

	private final Clock clock;

	private final Map<String, Window> windows = new ConcurrentHashMap<>();

	public LocalBudgetStore(Clock clock) {
		this.clock = clock;
	}

	@Override
	public Mono<BudgetDecision> check(String client, ClientLimits limits) {
		return Mono.fromSupplier(() -> window(client).check(limits, this.clock.millis()));
	}

	@Override
	public Mono<Void> charge(String client, long tokens) {
		return Mono.fromRunnable(() -> window(client).charge(tokens, this.clock.millis()));
	}

	@Override
	public Mono<ClientUse> use(String client, ClientLimits limits) {
		return Mono.fromSupplier(() -> window(client).use(limits, this.clock.millis()));
	}

	private Window window(String client) {
		return this.windows.computeIfAbsent(client, (id) -> new Window());
	}

	/** One client's counts; every method holds the lock for a few array operations. */
	private static final class Window {

		private final ArrayDeque<Long> requests = new ArrayDeque<>();

		private final long[] secondTokens = new long[60];

		private final long[] secondOf = new long[60];

		private long day = Long.MIN_VALUE;

		private long dayTokens;

		Window() {
			java.util.Arrays.fill(this.secondOf, Long.MIN_VALUE);
		}

		synchronized BudgetDecision check(ClientLimits limits, long now) {
			rollDay(now);
			if (limits.tokensPerDay() != null && this.dayTokens >= limits.tokensPerDay()) {
				return BudgetDecision.refused(BudgetDecision.TOKENS_PER_DAY, (this.day + 1) * DAY_MS - now);
			}
			if (limits.tokensPerMinute() != null) {
				long retry = tokensRetryAfter(limits.tokensPerMinute(), now);
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
			return BudgetDecision.ALLOWED;
		}

		synchronized void charge(long tokens, long now) {
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

		/** Milliseconds until enough buckets leave the window to be under the limit, or -1 when under it. */
		private long tokensRetryAfter(long limit, long now) {
			long used = minuteTokens(now);
			if (used < limit) {
				return -1;
			}
			long second = Math.floorDiv(now, 1000);
			for (long s = second - 59; s <= second; s++) {
				int slot = (int) Math.floorMod(s, 60L);
				if (this.secondOf[slot] == s) {
					used -= this.secondTokens[slot];
					if (used < limit) {
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
