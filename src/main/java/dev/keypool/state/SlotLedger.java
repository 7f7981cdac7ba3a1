package dev.keypool.state;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import dev.keypool.pool.KeyState;

/**
 * What Redis last said about one (key, scope), at which version, and this replica's changes
 * on top that Redis has not confirmed yet. The local view shows {@link #effective()}.
 * <p>
 * Not thread-safe by itself: callers hold its monitor ({@code synchronized (ledger)}).
 */
final class SlotLedger {

	KeyState confirmed = KeyState.FRESH;

	long version;

	final List<PendingChange> pending = new ArrayList<>(2);

	/** The confirmed state with every pending change applied, in order. */
	KeyState effective() {
		KeyState state = this.confirmed;
		for (PendingChange change : this.pending) {
			state = change.applyTo(state);
		}
		return state;
	}

	/** Takes a state Redis reported at {@code version} unless a newer one is already known. */
	boolean confirm(KeyState state, long version) {
		if (version <= this.version) {
			return false;
		}
		this.confirmed = state;
		this.version = version;
		return true;
	}

	/**
	 * Queues a change. Changes waiting for Redis (not in flight) that the new one makes
	 * pointless are dropped, so a long outage does not pile them up.
	 */
	void add(PendingChange change) {
		this.pending.removeIf((waiting) -> waiting.isSupersededBy(change));
		this.pending.add(change);
	}

	/** Whether some change is neither in Redis nor on its way there. */
	boolean hasWaiting() {
		for (PendingChange change : this.pending) {
			if (!change.inFlight) {
				return true;
			}
		}
		return false;
	}

	/** The changes waiting to be sent, after dropping cooldowns that ended by {@code now}. */
	List<PendingChange> waitingAt(Instant now) {
		this.pending.removeIf((change) -> change.isExpiredAt(now));
		List<PendingChange> waiting = new ArrayList<>(this.pending.size());
		for (PendingChange change : this.pending) {
			if (!change.inFlight) {
				waiting.add(change);
			}
		}
		return waiting;
	}

}
