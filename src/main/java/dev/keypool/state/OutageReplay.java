package dev.keypool.state;

import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import dev.keypool.state.RedisStateScripts.Result;
import dev.keypool.state.RedisStateScripts.Slot;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Pushes to Redis the changes this replica made while Redis could not take them: in the
 * order they were made, one at a time, each marked in flight only while its own call runs, so
 * a replay cut short by Redis going away again leaves the rest waiting for the next one.
 * Cooldowns that ended meanwhile are dropped rather than sent.
 */
final class OutageReplay {

	/** Sends one change; {@code replayAt} is when it is sent, later than when it was made. */
	@FunctionalInterface
	interface Sender {

		Mono<Result> send(Slot slot, PendingChange change, Instant replayAt);

	}

	/** Takes Redis' answer to a replayed change into the ledger. */
	@FunctionalInterface
	interface Confirmation {

		void confirmed(Slot slot, SlotLedger ledger, PendingChange change, Result result);

	}

	/** One change waiting to be sent, with where it belongs. */
	record Waiting(Slot slot, SlotLedger ledger, PendingChange change) {
	}

	private final Map<Slot, SlotLedger> ledgers;

	private final Clock clock;

	private final Sender sender;

	private final Confirmation confirmation;

	OutageReplay(Map<Slot, SlotLedger> ledgers, Clock clock, Sender sender, Confirmation confirmation) {
		this.ledgers = ledgers;
		this.clock = clock;
		this.sender = sender;
		this.confirmation = confirmation;
	}

	/** Sends every change waiting when it is subscribed to, oldest first. */
	Mono<Void> run() {
		return Flux.defer(() -> Flux.fromIterable(waiting(this.ledgers, this.clock.instant())))
			.concatMap(this::replay)
			.then();
	}

	/**
	 * The changes waiting in every ledger, in the order this replica made them; cooldowns that
	 * ended by {@code now} are dropped from their ledgers.
	 */
	static List<Waiting> waiting(Map<Slot, SlotLedger> ledgers, Instant now) {
		List<Waiting> waiting = new ArrayList<>();
		for (Map.Entry<Slot, SlotLedger> each : ledgers.entrySet()) {
			SlotLedger ledger = each.getValue();
			synchronized (ledger) {
				for (PendingChange change : ledger.waitingAt(now)) {
					waiting.add(new Waiting(each.getKey(), ledger, change));
				}
			}
		}
		waiting.sort(Comparator.comparingLong((each) -> each.change().order));
		return waiting;
	}

	private Mono<Result> replay(Waiting waiting) {
		PendingChange change = waiting.change();
		SlotLedger ledger = waiting.ledger();
		return Mono.defer(() -> {
			synchronized (ledger) {
				if (change.inFlight || !ledger.pending.contains(change)) {
					return Mono.empty();
				}
				change.inFlight = true;
			}
			Runnable waitAgain = () -> {
				synchronized (ledger) {
					change.inFlight = false;
				}
			};
			return this.sender.send(waiting.slot(), change, this.clock.instant())
				.doOnNext((result) -> this.confirmation.confirmed(waiting.slot(), ledger, change, result))
				.doOnError((ex) -> waitAgain.run())
				.doOnCancel(waitAgain);
		});
	}

}
