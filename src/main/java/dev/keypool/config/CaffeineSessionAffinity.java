package dev.keypool.config;

import java.time.Clock;
import java.time.Duration;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import dev.keypool.pool.SessionAffinity;

/**
 * Sticky-session memory on Caffeine: at most {@code maximumSize} sessions, each forgotten
 * after {@code idle} without a request, timed by the pool's clock. Lookups and updates are
 * lock-free on the request path.
 */
final class CaffeineSessionAffinity implements SessionAffinity {

	/** Sessions held per pool at most. */
	static final long MAXIMUM_SIZE = 100_000;

	/** A session not seen for this long is forgotten. */
	static final Duration IDLE = Duration.ofHours(1);

	private final Cache<String, String> sessions;

	CaffeineSessionAffinity(Clock clock, long maximumSize, Duration idle) {
		this.sessions = Caffeine.newBuilder()
			.maximumSize(maximumSize)
			.expireAfterAccess(idle)
			.ticker(() -> clock.millis() * 1_000_000L)
			// evict on the calling thread: no background task per pool
			.executor(Runnable::run)
			.build();
	}

	@Override
	public String keyOf(String session) {
		return this.sessions.getIfPresent(session);
	}

	@Override
	public void remember(String session, String keyId) {
		this.sessions.put(session, keyId);
	}

	@Override
	public long size() {
		this.sessions.cleanUp();
		return this.sessions.estimatedSize();
	}

}
