package dev.keypool.pool;

import java.time.Duration;
import java.util.Objects;

/**
 * How a pool picks keys for a request beyond the failover policy.
 *
 * @param strategy the order each walk tries the keys in
 * @param sessions which key each caller session stays on ({@link SessionAffinity#NONE} for off)
 * @param sessionHeader the request header naming the caller's session
 * @param rateLimits where the limits the keys report are kept (read by {@code headroom})
 * @param proactive whether a key whose reported limits are used up is skipped before it fails
 * @param minRemainingTokens below this many tokens left, a token resource counts as used up
 * @param maxWait how long an exhausted request may be held for a key to come back; zero for off
 * @param maxWaiting how many requests may be held at once
 */
public record Scheduling(Strategy strategy, SessionAffinity sessions, String sessionHeader, RateLimitBook rateLimits,
		boolean proactive, long minRemainingTokens, Duration maxWait, int maxWaiting) {

	public Scheduling {
		Objects.requireNonNull(strategy, "strategy");
		Objects.requireNonNull(sessions, "sessions");
		Objects.requireNonNull(sessionHeader, "sessionHeader");
		Objects.requireNonNull(rateLimits, "rateLimits");
		Objects.requireNonNull(maxWait, "maxWait");
	}

	/** The header Claude Code names its session in. */
	public static final String DEFAULT_SESSION_HEADER = "x-claude-code-session-id";

	/** Ordered walks, no session memory, proactive on with 1000 tokens, no waiting. */
	public static Scheduling defaults() {
		return new Scheduling(Strategy.ordered(), SessionAffinity.NONE, DEFAULT_SESSION_HEADER, new RateLimitBook(), true,
				1000, Duration.ZERO, 1000);
	}

}
