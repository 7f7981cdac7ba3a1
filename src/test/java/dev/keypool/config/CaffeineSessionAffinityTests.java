package dev.keypool.config;

import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;

import dev.keypool.support.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;

class CaffeineSessionAffinityTests {

	private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));

	@Test
	void aSessionIsRememberedUntilItIsIdleForTheIdleTime() {
		CaffeineSessionAffinity sessions = new CaffeineSessionAffinity(this.clock, 100, Duration.ofHours(1));
		sessions.remember("s-1", "k1");

		this.clock.advance(Duration.ofMinutes(59));
		assertThat(sessions.keyOf("s-1")).as("read after 59 min: still there, and idle time restarts").isEqualTo("k1");
		this.clock.advance(Duration.ofMinutes(59));
		assertThat(sessions.keyOf("s-1")).isEqualTo("k1");
		this.clock.advance(Duration.ofMinutes(61));
		assertThat(sessions.keyOf("s-1")).isNull();
	}

	@Test
	void aFloodOfSessionIdsStaysWithinTheBound() {
		CaffeineSessionAffinity sessions = new CaffeineSessionAffinity(this.clock, 1_000, Duration.ofHours(1));

		for (int i = 0; i < 50_000; i++) {
			sessions.remember("flood-" + i, "k0");
		}

		assertThat(sessions.size()).isLessThanOrEqualTo(1_000);
	}

	@Test
	void theProductionBoundIsOneHundredThousandSessionsIdleForAnHour() {
		assertThat(CaffeineSessionAffinity.MAXIMUM_SIZE).isEqualTo(100_000);
		assertThat(CaffeineSessionAffinity.IDLE).isEqualTo(Duration.ofHours(1));
	}

}
