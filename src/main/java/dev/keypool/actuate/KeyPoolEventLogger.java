package dev.keypool.actuate;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import dev.keypool.pool.AttemptOutcome;
import dev.keypool.pool.Exhaustion;
import dev.keypool.pool.KeyPoolListener;
import dev.keypool.pool.KeyStateChange;
import dev.keypool.pool.ModelClasses;

/**
 * Logs what an operator must know, and no more: one INFO line per key state change, one
 * WARN per exhaustion episode of a pool (the first request that finds no key left; the next
 * WARN only after the pool has served a request again), so a flood of rejected requests
 * logs one line. Logs key ids only, never a secret or a client token.
 */
public class KeyPoolEventLogger implements KeyPoolListener {

	private static final Log logger = LogFactory.getLog(KeyPoolEventLogger.class);

	private final Map<String, AtomicBoolean> exhausted = new ConcurrentHashMap<>();

	@Override
	public void onStateChange(KeyStateChange change) {
		if (logger.isInfoEnabled()) {
			logger.info("pool=" + change.pool() + " key=" + change.keyId() + " " + change.from().wireName() + " -> "
					+ change.to().wireName()
					+ (ModelClasses.KEY_WIDE.equals(change.modelClass()) ? "" : " model_class=" + change.modelClass())
					+ " reason=" + change.reason()
					+ ((change.until() != null) ? " until=" + change.until() : ""));
		}
	}

	@Override
	public void onExhausted(String pool, Exhaustion exhaustion) {
		if (!episode(pool).compareAndSet(false, true)) {
			return;
		}
		if (exhaustion instanceof Exhaustion.Transient transientExhaustion) {
			logger.warn("pool=" + pool + " exhausted: every key is rate-limited or disabled, soonest key available in "
					+ transientExhaustion.retryAfterSeconds() + "s; answering 429 until then");
		}
		else {
			logger.warn("pool=" + pool + " exhausted: every key failed authentication; answering 502 until a key is"
					+ " reset (DELETE /actuator/keypools/" + pool + "/{key})");
		}
	}

	@Override
	public void onAttempt(String pool, String keyId, AttemptOutcome outcome) {
		if (outcome == AttemptOutcome.SUCCESS || outcome == AttemptOutcome.RELAYED_ERROR) {
			if (episode(pool).compareAndSet(true, false)) {
				logger.info("pool=" + pool + " serving again: key=" + keyId + " answered");
			}
		}
	}

	private AtomicBoolean episode(String pool) {
		return this.exhausted.computeIfAbsent(pool, (name) -> new AtomicBoolean());
	}

}
