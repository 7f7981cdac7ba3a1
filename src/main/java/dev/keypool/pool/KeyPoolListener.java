package dev.keypool.pool;

/**
 * Observes what a pool does, so that logs and metrics hang off events instead of being
 * sprinkled through the request path. Called on the thread that caused the event: keep it
 * short and never block.
 */
public interface KeyPoolListener {

	default void onStateChange(KeyStateChange change) {
	}

	/** A request was accepted for this pool, served by the pool's keys or the caller's own. */
	default void onRequest(String pool, CallerMode mode, String clientId) {
	}

	/** One upstream attempt with one pool key ended. */
	default void onAttempt(String pool, String keyId, AttemptOutcome outcome) {
	}

	/** A key failed and the request moves on to the next key. */
	default void onFailover(String pool, AttemptOutcome reason) {
	}

	/** A pooled request ended because no key was left to try. */
	default void onExhausted(String pool, Exhaustion exhaustion) {
	}

	/** A pooled request finished, after this many upstream attempts. */
	default void onPooledRequestCompleted(String pool, int attempts) {
	}

	/** A response reported the key's limits for a model class. */
	default void onRateLimitReport(String pool, String keyId, String modelClass, RateLimitReport report) {
	}

	/** The key's rate-limit headers said its next request would be refused: it cools down ahead. */
	default void onProactiveCooldown(String pool, String keyId) {
	}

	/** A request held for a key to come back ended this way. */
	default void onWait(String pool, WaitOutcome outcome) {
	}

}
