package dev.keypool.config;

import java.util.List;
import java.util.Locale;
import java.util.function.Function;

import dev.keypool.pool.RateLimitBook;
import dev.keypool.pool.Strategy;

/**
 * The strategy names of {@code keypool.pools.<name>.strategy}, mapped once at startup to the
 * pool's {@link Strategy}.
 */
final class Strategies {

	static final List<String> NAMES = List.of("ordered", "round-robin", "headroom");

	private Strategies() {
	}

	/** The factory for a configured name (case-insensitive), or {@code null} for an unknown one. */
	static Function<RateLimitBook, Strategy> of(String name) {
		if (name == null) {
			return null;
		}
		return switch (name.trim().toLowerCase(Locale.ROOT)) {
			case "ordered" -> (limits) -> Strategy.ordered();
			case "round-robin" -> (limits) -> Strategy.roundRobin();
			case "headroom" -> Strategy::headroom;
			default -> null;
		};
	}

}
