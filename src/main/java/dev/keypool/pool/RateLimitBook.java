package dev.keypool.pool;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * The limits each key last reported, per model class. Bounded by the pool's keys times its
 * model classes (at most {@value ModelClasses#MAX_NAMED} + 2 each, counting
 * {@link ModelClasses#OTHER} and {@link ModelClasses#KEY_WIDE}).
 */
public final class RateLimitBook {

	private final ConcurrentMap<String, ConcurrentMap<String, RateLimitReport>> byKey = new ConcurrentHashMap<>();

	/** Records a report, merged over the resources the key reported before for the class. */
	public void record(String keyId, String modelClass, RateLimitReport report) {
		this.byKey.computeIfAbsent(keyId, (id) -> new ConcurrentHashMap<>())
			.merge(modelClass, report, RateLimitReport::merge);
	}

	/** The last report for the class, or {@code null}. */
	public RateLimitReport get(String keyId, String modelClass) {
		Map<String, RateLimitReport> classes = this.byKey.get(keyId);
		return (classes != null) ? classes.get(modelClass) : null;
	}

	/** Every class the key reported for, sorted by class. */
	public Map<String, RateLimitReport> reports(String keyId) {
		Map<String, RateLimitReport> classes = this.byKey.get(keyId);
		return (classes != null) ? new TreeMap<>(classes) : Map.of();
	}

	/**
	 * The smallest remaining fraction the key reported for the class; 1 for a key never
	 * reported.
	 */
	public double headroom(String keyId, String modelClass) {
		RateLimitReport report = get(keyId, modelClass);
		return (report != null) ? report.headroom() : 1.0;
	}

	/** Forgets what the key reported (on reset). */
	public void forget(String keyId) {
		this.byKey.remove(keyId);
	}

}
