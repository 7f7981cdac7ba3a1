package dev.keypool.budget;

import reactor.core.publisher.Mono;

/**
 * Where clients' budgets are counted: per process ({@link LocalBudgetStore}) or shared by
 * every replica ({@link RedisBudgetStore}). Windows: requests per minute is a sliding log
 * (the (N+1)-th request within 60 seconds of N allowed ones is refused), tokens per minute a
 * sum over the last 60 one-second buckets, tokens per day a counter per UTC date.
 */
public interface BudgetStore {

	/** Checks every limit and, when allowed, counts the request. */
	Mono<BudgetDecision> check(String client, ClientLimits limits);

	/** Adds the tokens of a finished response. */
	Mono<Void> charge(String client, long tokens);

	/** The client's use now. */
	Mono<ClientUse> use(String client, ClientLimits limits);

}
