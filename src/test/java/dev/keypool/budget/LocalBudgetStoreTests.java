package dev.keypool.budget;

import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;

import dev.keypool.support.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;

/** Token reservations in the per-process store, on a clock the test moves. */
class LocalBudgetStoreTests {

	static final ClientLimits THOUSAND_A_MINUTE = new ClientLimits(null, 1000L, null);

	final MutableClock clock = new MutableClock(Instant.parse("2026-03-01T10:00:00Z"));

	final LocalBudgetStore store = new LocalBudgetStore(this.clock);

	@Test
	void heldReservationsRefuseWhatNoLongerFitsWithAMinutesRetryAfter() {
		assertThat(check(600).allowed()).isTrue();

		BudgetDecision refused = check(401);

		assertThat(refused.allowed()).isFalse();
		assertThat(refused.limit()).isEqualTo(BudgetDecision.TOKENS_PER_MINUTE);
		assertThat(refused.retryAfterSeconds()).isEqualTo(60);
		assertThat(check(400).allowed()).isTrue();
	}

	@Test
	void settlingReleasesTheReservationAndChargesTheUsage() {
		BudgetDecision held = check(900);

		this.store.settle("team", held.reservation(), 100).block();

		assertThat(check(900).allowed()).isTrue();
		assertThat(this.store.use("team", THOUSAND_A_MINUTE).block().tokensThisMinute()).isEqualTo(100);
	}

	@Test
	void aReservationLargerThanTheLimitRunsAloneAndAnUnsettledOneEndsAfterTenMinutes() {
		assertThat(check(5000).allowed()).isTrue();
		assertThat(check(1).allowed()).isFalse();

		this.clock.advance(Duration.ofMillis(BudgetStore.RESERVATION_TTL_MS));

		assertThat(check(1).allowed()).isTrue();
	}

	@Test
	void aLimitReachedExactlyLeavesNoRoomEvenForAnEmptyReservation() {
		this.store.charge("team", 1000).block();

		assertThat(check(0).allowed()).isFalse();
	}

	private BudgetDecision check(long reserve) {
		return this.store.check("team", THOUSAND_A_MINUTE, reserve).block();
	}

}
