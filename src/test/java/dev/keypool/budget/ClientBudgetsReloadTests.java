package dev.keypool.budget;

import java.time.Instant;
import java.util.Map;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import dev.keypool.support.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A reload puts new client limits in force at once: a raised limit admits the next request, a
 * removed client has no budget and no series left, a new one gets its series.
 */
class ClientBudgetsReloadTests {

	private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T12:00:00Z"));

	private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

	private final ClientBudgets budgets = new ClientBudgets(Map.of("team-a", rpm(1)), new LocalBudgetStore(this.clock),
			this.clock, this.registry);

	@Test
	void aRaisedLimitAdmitsTheNextRequestAtOnce() {
		assertThat(admit("team-a")).isTrue();
		assertThat(admit("team-a")).isFalse();

		this.budgets.replaceLimits(Map.of("team-a", rpm(3)));

		assertThat(admit("team-a")).isTrue();
		assertThat(admit("team-a")).isTrue();
		assertThat(admit("team-a")).as("the use counted before the reload still counts").isFalse();
	}

	@Test
	void aRemovedClientHasNoBudgetAndNoSeriesAndANewOneHasBoth() {
		assertThat(rejectionSeries("team-a")).isEqualTo(3);

		this.budgets.replaceLimits(Map.of("team-b", rpm(1)));

		assertThat(rejectionSeries("team-a")).isZero();
		assertThat(rejectionSeries("team-b")).isEqualTo(3);
		assertThat(admit("team-a")).isTrue();
		assertThat(admit("team-a")).isTrue();
		assertThat(admit("team-b")).isTrue();
		assertThat(admit("team-b")).isFalse();
		assertThat(this.registry.get(ClientBudgets.REJECTIONS)
			.tag("client", "team-b")
			.tag("limit", BudgetDecision.REQUESTS_PER_MINUTE)
			.counter()
			.count()).isEqualTo(1);
	}

	@Test
	void aClientThatLosesItsLimitsLosesItsSeries() {
		this.budgets.replaceLimits(Map.of("team-a", ClientLimits.NONE));

		assertThat(rejectionSeries("team-a")).isZero();
		assertThat(admit("team-a")).isTrue();
		assertThat(admit("team-a")).isTrue();
	}

	private boolean admit(String client) {
		return this.budgets.admit(client).block().allowed();
	}

	private long rejectionSeries(String client) {
		return this.registry.find(ClientBudgets.REJECTIONS).tag("client", client).counters().size();
	}

	private static ClientLimits rpm(long requestsPerMinute) {
		return new ClientLimits(requestsPerMinute, null, null);
	}

}
