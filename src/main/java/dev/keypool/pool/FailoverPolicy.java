package dev.keypool.pool;

import java.time.Duration;
import java.time.Instant;
import java.util.Set;

/**
 * How a pool reacts to upstream statuses: which cool a key down, which disable it, and how
 * long a cooldown lasts.
 *
 * @param cooldownOn statuses that put the key in cooldown (default 429)
 * @param disableOn statuses that disable the key (default 401, 403)
 * @param defaultCooldown cooldown when the response says nothing usable about retrying
 * @param maxCooldown upper bound for any cooldown, whatever the provider asks for
 * @param minCooldown lower bound for any cooldown, so a tiny wait cannot leave a limited key
 * in rotation
 */
public record FailoverPolicy(Set<Integer> cooldownOn, Set<Integer> disableOn, Duration defaultCooldown,
		Duration maxCooldown, Duration minCooldown) {

	public static final Duration DEFAULT_MIN_COOLDOWN = Duration.ofSeconds(1);

	public static final FailoverPolicy DEFAULT = new FailoverPolicy(Set.of(429), Set.of(401, 403),
			Duration.ofSeconds(60), Duration.ofMinutes(15), DEFAULT_MIN_COOLDOWN);

	public FailoverPolicy {
		cooldownOn = Set.copyOf(cooldownOn);
		disableOn = Set.copyOf(disableOn);
		if (!isPositive(defaultCooldown) || !isPositive(maxCooldown) || !isPositive(minCooldown)) {
			throw new IllegalArgumentException("cooldowns must be positive");
		}
		if (minCooldown.compareTo(maxCooldown) > 0) {
			throw new IllegalArgumentException("the minimum cooldown must not exceed the maximum");
		}
	}

	public Verdict classify(int status) {
		if (this.cooldownOn.contains(status)) {
			return Verdict.COOL_DOWN;
		}
		if (this.disableOn.contains(status)) {
			return Verdict.DISABLE;
		}
		return (status >= 200 && status < 400) ? Verdict.SUCCESS : Verdict.RELAY;
	}

	/**
	 * The cooldown for a rate-limited response: what its headers ask for, else the default,
	 * never less than the minimum nor more than the maximum.
	 */
	public Duration cooldownFor(String retryAfterMs, String retryAfter, Instant now) {
		return bounded(RetryAfter.parse(retryAfterMs, retryAfter, now).orElse(this.defaultCooldown));
	}

	/** {@code requested}, raised to the minimum and capped at the maximum. */
	public Duration bounded(Duration requested) {
		if (requested.compareTo(this.minCooldown) < 0) {
			return this.minCooldown;
		}
		return (requested.compareTo(this.maxCooldown) > 0) ? this.maxCooldown : requested;
	}

	private static boolean isPositive(Duration duration) {
		return duration != null && !duration.isNegative() && !duration.isZero();
	}

}
