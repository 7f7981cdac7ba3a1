package dev.keypool.pool;

import java.time.Duration;
import java.time.Instant;

/**
 * The stored facts about one key. The {@link KeyStatus} is derived from them at read time,
 * so a cooldown ends by itself when its deadline passes and nothing has to poll.
 *
 * @param disabled whether an authentication failure disabled the key (until reset)
 * @param cooldownUntil the end of the current or last cooldown, or {@code null}
 * @param lastStatus the upstream status of the last failure that marked the key, or {@code null}
 * @param lastFailureAt when the key was last marked, or {@code null}
 * @param cooldownReason why the cooldown ending at {@code cooldownUntil} was set, or
 * {@code null} when there is none
 */
public record KeyState(boolean disabled, Instant cooldownUntil, Integer lastStatus, Instant lastFailureAt,
		CooldownReason cooldownReason) {

	/** A key nothing has happened to. */
	public static final KeyState FRESH = new KeyState(false, null, null, null, null);

	/** Facts without a recorded reason: a cooldown is then taken as rate-limited. */
	public KeyState(boolean disabled, Instant cooldownUntil, Integer lastStatus, Instant lastFailureAt) {
		this(disabled, cooldownUntil, lastStatus, lastFailureAt,
				(cooldownUntil != null) ? CooldownReason.RATE_LIMITED : null);
	}

	public KeyStatus statusAt(Instant now) {
		if (this.disabled) {
			return KeyStatus.DISABLED;
		}
		if (this.cooldownUntil != null && now.isBefore(this.cooldownUntil)) {
			return KeyStatus.COOLING_DOWN;
		}
		return KeyStatus.AVAILABLE;
	}

	/** Time left until the cooldown ends; zero unless the key is cooling down at {@code now}. */
	public Duration cooldownRemainingAt(Instant now) {
		return (statusAt(now) == KeyStatus.COOLING_DOWN) ? Duration.between(now, this.cooldownUntil) : Duration.ZERO;
	}

	/** Whole seconds, rounded up: what a Retry-After or an operator should be told to wait. */
	public static long ceilSeconds(Duration duration) {
		long seconds = duration.getSeconds();
		return (duration.getNano() > 0) ? seconds + 1 : seconds;
	}

	public boolean isAvailableAt(Instant now) {
		return !this.disabled && (this.cooldownUntil == null || !now.isBefore(this.cooldownUntil));
	}

	/**
	 * Marks a cooldown. A later deadline already in place wins, so concurrent marks with
	 * different Retry-After values never shorten a cooldown; a disabled key stays disabled.
	 */
	public KeyState coolDown(Instant until, int status, Instant at) {
		return coolDown(until, status, CooldownReason.RATE_LIMITED, at);
	}

	/**
	 * Marks a cooldown for a reason; the reason follows the deadline that wins. A proactive
	 * mark ({@code status} {@code null}) is not a failure: the last failure stays as it was.
	 */
	public KeyState coolDown(Instant until, Integer status, CooldownReason reason, Instant at) {
		boolean keep = this.cooldownUntil != null && this.cooldownUntil.isAfter(until);
		Instant later = keep ? this.cooldownUntil : until;
		CooldownReason laterReason = keep ? this.cooldownReason : reason;
		if (status == null) {
			return new KeyState(this.disabled, later, this.lastStatus, this.lastFailureAt, laterReason);
		}
		return new KeyState(this.disabled, later, status, at, laterReason);
	}

	public KeyState disable(int status, Instant at) {
		return new KeyState(true, this.cooldownUntil, status, at, this.cooldownReason);
	}

	/** Available again; the last failure stays visible to operators. */
	public KeyState reset() {
		return new KeyState(false, null, this.lastStatus, this.lastFailureAt, null);
	}

}
