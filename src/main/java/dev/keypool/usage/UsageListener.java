package dev.keypool.usage;

import org.springframework.web.server.ServerWebExchange;

/** Told of the usage of every finished response that reported some (client budgets charge it). */
@FunctionalInterface
public interface UsageListener {

	/** Called once per response, on the thread that ended it; must not block. */
	void counted(CountedUsage usage);

	/**
	 * The same call with the exchange the response belongs to, for listeners that record on
	 * the request itself (its trace span); by default {@link #counted(CountedUsage)}.
	 */
	default void counted(ServerWebExchange exchange, CountedUsage usage) {
		counted(usage);
	}

}
