package dev.keypool.pool;

import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

class RetryAfterTests {

	private static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");

	private static final FailoverPolicy POLICY = new FailoverPolicy(java.util.Set.of(429), java.util.Set.of(401, 403),
			Duration.ofSeconds(60), Duration.ofMinutes(15), Duration.ofSeconds(1));

	@ParameterizedTest(name = "retry-after-ms={0}, Retry-After={1} -> {2} ms")
	@CsvSource(nullValues = "null", value = {
			// both headers: the longer wait wins, a tiny retry-after-ms cannot shorten Retry-After
			"45000, 30, 45000",
			"1500, 30, 30000",
			"0.0001, 4, 4000",
			// retry-after-ms alone, fractional milliseconds kept, raised to min-cooldown (1s)
			"1500, null, 1500",
			"2500.5, null, 2500",
			"0.4, null, 1000",
			"0.0001, null, 1000",
			// retry-after-ms zero, negative or garbage: Retry-After decides
			"0, 30, 30000",
			"-5, 30, 30000",
			"soon, 30, 30000",
			// Retry-After in seconds, integer or decimal
			"null, 3, 3000",
			"null, 1.5, 1500",
			"null, 0.2, 1000",
			"null, ' 7 ', 7000",
			// HTTP-date in the future / past
			"null, 'Thu, 01 Jan 2026 12:00:45 GMT', 45000",
			"null, 'Thu, 01 Jan 2026 11:59:00 GMT', 60000",
			// zero, negative, garbage: the default cooldown
			"null, 0, 60000",
			"null, -10, 60000",
			"null, later, 60000",
			"null, 1e3, 60000",
			"null, NaN, 60000",
			"null, null, 60000",
			"null, '', 60000",
			// capped at max-cooldown (15m)
			"null, 3600, 900000",
			"99999999999, null, 900000",
			"null, 'Fri, 02 Jan 2026 12:00:00 GMT', 900000" })
	void cooldownFollowsTheProvidersHeaders(String retryAfterMs, String retryAfter, long expectedMillis) {
		Duration cooldown = POLICY.cooldownFor(retryAfterMs, retryAfter, NOW);

		assertThat(cooldown.toMillis()).isEqualTo(expectedMillis);
	}

}
