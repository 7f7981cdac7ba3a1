package dev.keypool.state;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

import dev.keypool.pool.CooldownReason;
import dev.keypool.pool.KeyState;
import dev.keypool.pool.KeyStatus;
import dev.keypool.pool.ModelClasses;
import dev.keypool.state.RedisStateScripts.Result;
import dev.keypool.state.RedisStateScripts.Slot;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The local half of the Redis store, without Redis: what a replica shows for one (key, scope)
 * while its changes wait for Redis, which waiting changes it keeps through an outage, and in
 * which order it replays them.
 */
class SlotLedgerTests {

	private static final Instant T = Instant.parse("2026-01-01T00:00:00Z");

	private long order;

	private PendingChange coolDownUntil(long seconds) {
		return PendingChange.coolDown(429, CooldownReason.RATE_LIMITED, T.plusSeconds(seconds), T, ++this.order);
	}

	@Test
	void theLocalViewShowsWaitingChangesOnTopOfWhatRedisConfirmed() {
		SlotLedger ledger = new SlotLedger();
		ledger.confirm(new KeyState(false, T.plusSeconds(10), 429, T), 3);

		ledger.add(PendingChange.disable(401, T, ++this.order));

		assertThat(ledger.effective().statusAt(T)).isEqualTo(KeyStatus.DISABLED);
		assertThat(ledger.effective().cooldownUntil()).isEqualTo(T.plusSeconds(10));
	}

	@Test
	void anOlderVersionFromRedisNeverReplacesANewerOne() {
		SlotLedger ledger = new SlotLedger();
		ledger.confirm(new KeyState(false, T.plusSeconds(30), 429, T), 7);

		boolean taken = ledger.confirm(KeyState.FRESH, 6);

		assertThat(taken).isFalse();
		assertThat(ledger.confirmed.cooldownUntil()).isEqualTo(T.plusSeconds(30));
	}

	@Test
	void aWaitingCooldownIsDroppedOnlyWhenANewOneEndsNoEarlier() {
		SlotLedger ledger = new SlotLedger();
		PendingChange first = coolDownUntil(10);
		PendingChange later = coolDownUntil(30);
		PendingChange shorter = coolDownUntil(5);

		ledger.add(first);
		ledger.add(later);
		ledger.add(shorter);

		assertThat(ledger.pending).containsExactly(later, shorter);
		assertThat(ledger.effective().cooldownUntil()).as("the later deadline wins").isEqualTo(T.plusSeconds(30));
	}

	@Test
	void aResetDropsWhatWaitsButNotWhatIsOnItsWayToRedis() {
		SlotLedger ledger = new SlotLedger();
		PendingChange sent = coolDownUntil(10);
		sent.inFlight = true;
		ledger.add(sent);
		ledger.add(PendingChange.disable(401, T, ++this.order));
		PendingChange reset = PendingChange.reset(++this.order);

		ledger.add(reset);

		assertThat(ledger.pending).containsExactly(sent, reset);
		assertThat(ledger.effective().statusAt(T)).isEqualTo(KeyStatus.AVAILABLE);
	}

	@Test
	void aReplayTakesTheWaitingChangesOfEveryScopeInTheOrderTheyWereMadeAndDropsEndedCooldowns() {
		Map<Slot, SlotLedger> ledgers = new LinkedHashMap<>();
		SlotLedger opus = new SlotLedger();
		SlotLedger keyWide = new SlotLedger();
		ledgers.put(new Slot("p", "k", "opus"), opus);
		ledgers.put(new Slot("p", "k", ModelClasses.KEY_WIDE), keyWide);
		PendingChange ended = coolDownUntil(5);
		PendingChange disable = PendingChange.disable(401, T, ++this.order);
		PendingChange running = coolDownUntil(60);
		PendingChange sent = coolDownUntil(90);
		sent.inFlight = true;
		opus.add(ended);
		keyWide.add(disable);
		opus.add(running);
		keyWide.add(sent);

		List<OutageReplay.Waiting> waiting = OutageReplay.waiting(ledgers, T.plusSeconds(10));

		assertThat(waiting).extracting(OutageReplay.Waiting::change).containsExactly(disable, running);
		assertThat(opus.pending).as("an ended cooldown has nothing left to tell Redis").containsExactly(running);
	}

	@Test
	void aRedisThatLostTheStateGetsBackWhatItConfirmedThatStillHolds() {
		Map<Slot, SlotLedger> ledgers = new LinkedHashMap<>();
		SlotLedger running = new SlotLedger();
		running.confirm(new KeyState(false, T.plusSeconds(60), null, null, CooldownReason.PROACTIVE), 1);
		SlotLedger ended = new SlotLedger();
		ended.confirm(new KeyState(false, T.plusSeconds(5), 429, T), 2);
		SlotLedger disabled = new SlotLedger();
		disabled.confirm(new KeyState(true, null, 401, T), 3);
		SlotLedger waitingOnly = new SlotLedger();
		waitingOnly.add(coolDownUntil(60));
		ledgers.put(new Slot("p", "a", "opus"), running);
		ledgers.put(new Slot("p", "b", "opus"), ended);
		ledgers.put(new Slot("p", "c", ModelClasses.KEY_WIDE), disabled);
		ledgers.put(new Slot("p", "d", ModelClasses.KEY_WIDE), waitingOnly);

		List<EpochRepublish.Fact> facts = EpochRepublish.liveFacts(ledgers, T.plusSeconds(10));

		assertThat(facts).extracting((fact) -> fact.slot().keyId() + " " + fact.kind() + " " + fact.status() + " "
				+ fact.untilMs() + " " + fact.atMs() + " " + fact.reason())
			.as("a running cooldown with its own deadline, a disabled key; not an ended cooldown, not a waiting change")
			.containsExactly("a COOLDOWN 0 " + T.plusSeconds(60).toEpochMilli() + " 0 proactive",
					"c DISABLE 401 0 " + T.toEpochMilli() + " ");
	}

	@Test
	void aReplayCutShortByRedisLeavesTheRestWaitingForTheNextOne() {
		Map<Slot, SlotLedger> ledgers = new LinkedHashMap<>();
		SlotLedger ledger = new SlotLedger();
		Slot slot = new Slot("p", "k", ModelClasses.KEY_WIDE);
		ledgers.put(slot, ledger);
		PendingChange first = coolDownUntil(60);
		PendingChange second = PendingChange.disable(401, T, ++this.order);
		ledger.add(first);
		ledger.add(second);
		List<PendingChange> sent = new ArrayList<>();
		OutageReplay replay = new OutageReplay(ledgers, Clock.fixed(T.plusSeconds(1), ZoneOffset.UTC),
				(where, change, replayAt) -> {
					sent.add(change);
					return (change == first) ? Mono.just(new Result(1, "e", KeyState.FRESH))
							: Mono.error(new IllegalStateException("Redis went away again"));
				}, (where, held, change, result) -> held.pending.remove(change));

		StepVerifier.create(replay.run()).verifyError(IllegalStateException.class);

		assertThat(sent).containsExactly(first, second);
		assertThat(ledger.pending).containsExactly(second);
		assertThat(second.inFlight).as("waits for the next replay").isFalse();
	}

}
