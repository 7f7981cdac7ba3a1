package dev.keypool.state;

import java.time.Instant;

import dev.keypool.pool.CooldownReason;
import dev.keypool.pool.KeyState;

/**
 * One change this replica made to one (key, scope) that Redis has not confirmed yet: kept so
 * the local view shows it at once and so it can be sent again after an outage.
 */
final class PendingChange {

	/** What the change does; {@link #script} is the write script's operation name. */
	enum Kind {

		COOLDOWN("cooldown"), DISABLE("disable"), RESET("reset");

		final String script;

		Kind(String script) {
			this.script = script;
		}

	}

	final Kind kind;

	/** The upstream status; {@code null} for a proactive mark and a reset. */
	final Integer status;

	final CooldownReason reason;

	final Instant until;

	final Instant at;

	/** The order in which this replica made its changes: replays keep it. */
	final long order;

	/** Sent to Redis and not failed yet; guarded by the {@link SlotLedger} that holds it. */
	boolean inFlight;

	private PendingChange(Kind kind, Integer status, CooldownReason reason, Instant until, Instant at, long order) {
		this.kind = kind;
		this.status = status;
		this.reason = reason;
		this.until = until;
		this.at = at;
		this.order = order;
	}

	static PendingChange coolDown(Integer status, CooldownReason reason, Instant until, Instant at, long order) {
		return new PendingChange(Kind.COOLDOWN, status, reason, until, at, order);
	}

	static PendingChange disable(int status, Instant at, long order) {
		return new PendingChange(Kind.DISABLE, status, null, null, at, order);
	}

	static PendingChange reset(long order) {
		return new PendingChange(Kind.RESET, null, null, null, null, order);
	}

	KeyState applyTo(KeyState state) {
		return switch (this.kind) {
			case COOLDOWN -> state.coolDown(this.until, this.status, this.reason, this.at);
			case DISABLE -> state.disable(this.status, this.at);
			case RESET -> state.reset();
		};
	}

	/** Whether this change, waiting to be sent, is made pointless by {@code newer}. */
	boolean isSupersededBy(PendingChange newer) {
		if (this.inFlight) {
			return false;
		}
		return newer.kind == Kind.RESET || (this.kind == newer.kind
				&& (newer.kind == Kind.DISABLE || !this.until.isAfter(newer.until)));
	}

	/** A waiting cooldown whose deadline has passed: nothing left to tell Redis. */
	boolean isExpiredAt(Instant now) {
		return !this.inFlight && this.kind == Kind.COOLDOWN && !this.until.isAfter(now);
	}

}
