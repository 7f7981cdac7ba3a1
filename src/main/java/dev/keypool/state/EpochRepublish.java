package dev.keypool.state;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.keypool.pool.KeyState;
import dev.keypool.state.RedisStateScripts.Slot;

/**
 * What a replica gives back to a Redis that lost the shared state (its epoch marker is gone,
 * or it is a Redis the replica has not seen before): every cooldown still running and every
 * disabled key, as Redis last confirmed them, with their absolute deadlines, so the cooldowns
 * end when they would have. Changes still waiting to be sent are not part of it: the outage
 * replay sends those. A fact goes back only if no replica reset the key after this replica
 * learnt it: an admin reset made during the outage and replayed by another replica wins over
 * a disable this replica still remembers.
 */
final class EpochRepublish {

	private EpochRepublish() {
	}

	/**
	 * One fact to write again.
	 *
	 * @param untilMs the cooldown's deadline (epoch millis); 0 for a disable
	 * @param atMs when the failure happened (epoch millis); 0 when unknown
	 * @param reason the cooldown's reason as written to Redis; empty when unknown
	 * @param knownAt the version at which Redis last confirmed it: a reset Redis took later (a
	 * replica replayed it from the same outage) wins over it
	 */
	record Fact(Slot slot, SlotLedger ledger, PendingChange.Kind kind, int status, long untilMs, long atMs,
			String reason, long knownAt) {
	}

	/** The facts to write again, cooldowns that ended by {@code now} left out. */
	static List<Fact> liveFacts(Map<Slot, SlotLedger> ledgers, Instant now) {
		List<Fact> facts = new ArrayList<>();
		for (Map.Entry<Slot, SlotLedger> each : ledgers.entrySet()) {
			Slot slot = each.getKey();
			SlotLedger ledger = each.getValue();
			KeyState known;
			long knownAt;
			synchronized (ledger) {
				known = ledger.confirmed;
				knownAt = ledger.version;
			}
			int status = (known.lastStatus() != null) ? known.lastStatus() : 0;
			long atMs = (known.lastFailureAt() != null) ? known.lastFailureAt().toEpochMilli() : 0;
			String reason = (known.cooldownReason() != null) ? known.cooldownReason().wireName() : "";
			if (known.cooldownUntil() != null && known.cooldownUntil().isAfter(now)) {
				facts.add(new Fact(slot, ledger, PendingChange.Kind.COOLDOWN, status,
						known.cooldownUntil().toEpochMilli(), atMs, reason, knownAt));
			}
			if (known.disabled() && slot.isKeyWide()) {
				facts.add(new Fact(slot, ledger, PendingChange.Kind.DISABLE, status, 0, atMs, reason, knownAt));
			}
		}
		return facts;
	}

}
