package dev.keypool.pool;

import java.time.Duration;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class FailoverPolicyTests {

	@ParameterizedTest(name = "{0} -> {1}")
	@CsvSource({ "200, SUCCESS", "201, SUCCESS", "204, SUCCESS", "304, SUCCESS", "429, COOL_DOWN", "401, DISABLE",
			"403, DISABLE", "400, RELAY", "402, RELAY", "404, RELAY", "413, RELAY", "500, RELAY", "502, RELAY",
			"503, RELAY", "529, RELAY" })
	void defaultPolicyClassifiesStatuses(int status, Verdict verdict) {
		assertThat(FailoverPolicy.DEFAULT.classify(status)).isEqualTo(verdict);
	}

	@Test
	void configuredListsReplaceTheDefaults() {
		FailoverPolicy policy = new FailoverPolicy(Set.of(429, 529), Set.of(401), Duration.ofSeconds(5),
				Duration.ofMinutes(1), Duration.ofSeconds(1));

		assertThat(policy.classify(529)).isEqualTo(Verdict.COOL_DOWN);
		assertThat(policy.classify(403)).isEqualTo(Verdict.RELAY);
	}

	@ParameterizedTest(name = "default={0}, max={1}, min={2}")
	@CsvSource({ "-1, 60, 1", "0, 60, 1", "60, 0, 1", "60, 60, 0", "60, 5, 10" })
	void cooldownsThatAreNotPositiveOrContradictoryAreRejected(long defaultSeconds, long maxSeconds,
			long minSeconds) {
		assertThatIllegalArgumentException()
			.isThrownBy(() -> new FailoverPolicy(Set.of(429), Set.of(401), Duration.ofSeconds(defaultSeconds),
					Duration.ofSeconds(maxSeconds), Duration.ofSeconds(minSeconds)));
	}

}
