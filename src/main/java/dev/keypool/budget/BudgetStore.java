package dev.keypool.budget;

import reactor.core.publisher.Mono;

/**
 * Where clients' budgets are counted: per process ({@link LocalBudgetStore}) or shared by
 * every replica ({@link RedisBudgetStore}). Windows: requests per minute is a sliding log
 * (the (N+1)-th request within 60 seconds of N allowed ones is refused), tokens per minute a
 * sum over the last 60 one-second buckets, tokens per day a counter per UTC date.
 * <p>
 * Token limits count what is charged plus what is reserved: an admitted request holds a
 * reservation until it is settled (its response ended) or, at the latest,
 * {@link #RESERVATION_TTL_MS} after it was made, so a replica that dies mid-request does not
 * hold the client's budget for good.
 */
public interface BudgetStore {

	/** Longest a reservation is held when it is never settled. */
	long RESERVATION_TTL_MS = 600_000;

	/**
	 * Checks every limit with {@code reserve} more tokens and, when allowed, counts the request
	 * and holds the reservation. A token limit admits the request when what is charged and
	 * reserved plus {@code reserve} (at least 1, at most the limit itself) stays within the
	 * limit; so a request larger than the limit still runs, alone.
	 *
	 * @return the decision; an allowed one carries the reservation to settle
	 */
	Mono<BudgetDecision> check(String client, ClientLimits limits, long reserve);

	/**
	 * Releases a reservation (if still held) and charges {@code tokens} to the current second and day.
	 *
	 * @param reservation what {@link #check} gave, or {@code null} for a charge alone
	 */
	Mono<Void> settle(String client, String reservation, long tokens);

	/** Adds the tokens of a finished response. */
	default Mono<Void> charge(String client, long tokens) {
		return settle(client, null, tokens);
	}

	/** The client's use now. */
	Mono<ClientUse> use(String client, ClientLimits limits);

}
