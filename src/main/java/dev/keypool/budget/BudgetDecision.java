package dev.keypool.budget;

import java.time.Duration;

/**
 * Whether a client's request may go upstream.
 *
 * @param allowed whether it may
 * @param limit the limit it is over ({@code requests_per_minute}, {@code tokens_per_minute},
 * {@code tokens_per_day}), or {@code null}
 * @param retryAfter how long until the limit's window frees, or {@code null}
 * @param reservation the store's name of the tokens an allowed request holds until it is
 * settled, or {@code null} when it holds none
 */
public record BudgetDecision(boolean allowed, String limit, Duration retryAfter, String reservation) {

	public static final BudgetDecision ALLOWED = new BudgetDecision(true, null, null, null);

	public static final String REQUESTS_PER_MINUTE = "requests_per_minute";

	public static final String TOKENS_PER_MINUTE = "tokens_per_minute";

	public static final String TOKENS_PER_DAY = "tokens_per_day";

	static BudgetDecision refused(String limit, long retryAfterMillis) {
		return new BudgetDecision(false, limit, Duration.ofMillis(Math.max(0, retryAfterMillis)), null);
	}

	static BudgetDecision allowed(String reservation) {
		return (reservation != null) ? new BudgetDecision(true, null, null, reservation) : ALLOWED;
	}

	/**
	 * {@code Retry-After} in whole seconds, rounded up: at least 1, and at most 60 for a
	 * per-minute limit.
	 */
	public long retryAfterSeconds() {
		long seconds = Math.max(1, (this.retryAfter.toMillis() + 999) / 1000);
		return TOKENS_PER_DAY.equals(this.limit) ? seconds : Math.min(60, seconds);
	}

}
