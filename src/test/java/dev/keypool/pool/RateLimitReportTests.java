package dev.keypool.pool;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

class RateLimitReportTests {

	private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");

	/**
	 * requests-remaining, input-tokens-remaining, reset of requests, reset of input tokens →
	 * the proactive deadline ({@code none} for no mark).
	 */
	@ParameterizedTest(name = "requests {0}, input tokens {1} -> {4}")
	@CsvSource(nullValues = "null", value = {
			// nothing used up
			"10, 50000, 2026-01-01T00:00:30Z, 2026-01-01T00:00:40Z, none",
			// requests used up: until its reset
			"0, 50000, 2026-01-01T00:00:30Z, 2026-01-01T00:00:40Z, 2026-01-01T00:00:30Z",
			// tokens below the threshold: until their reset
			"10, 999, 2026-01-01T00:00:30Z, 2026-01-01T00:00:40Z, 2026-01-01T00:00:40Z",
			// exactly the threshold is enough
			"10, 1000, 2026-01-01T00:00:30Z, 2026-01-01T00:00:40Z, none",
			// both: the later reset
			"0, 0, 2026-01-01T00:00:50Z, 2026-01-01T00:00:40Z, 2026-01-01T00:00:50Z",
			// RFC 3339 with an offset
			"0, 50000, 2026-01-01T01:00:30+01:00, null, 2026-01-01T00:00:30Z",
			// missing reset: the default cooldown
			"0, 50000, null, null, 2026-01-01T00:01:00Z",
			// unreadable reset: counts as missing
			"0, 50000, soon, null, 2026-01-01T00:01:00Z",
			// reset already past: no mark
			"0, 50000, 2025-12-31T23:59:59Z, null, none" })
	void usedUpResourcesCoolUntilTheirLatestReset(String requests, String inputTokens, String requestsReset,
			String tokensReset, String expected) {
		Map<String, String> headers = new HashMap<>();
		headers.put("anthropic-ratelimit-requests-limit", "50");
		headers.put("anthropic-ratelimit-requests-remaining", requests);
		headers.put("anthropic-ratelimit-requests-reset", requestsReset);
		headers.put("anthropic-ratelimit-input-tokens-limit", "100000");
		headers.put("anthropic-ratelimit-input-tokens-remaining", inputTokens);
		headers.put("anthropic-ratelimit-input-tokens-reset", tokensReset);

		Optional<Instant> until = RateLimitReport.parse(headers::get)
			.orElseThrow()
			.exhaustedUntil(1000, Duration.ofSeconds(60), NOW);

		assertThat(until.map(Instant::toString).orElse("none"))
			.isEqualTo(expected.equals("none") ? "none" : Instant.parse(expected).toString());
	}

	@ParameterizedTest
	@CsvSource(nullValues = "null", value = { "2026-01-01T00:00:30Z, 2026-01-01T00:00:30Z",
			"2026-01-01T00:00:30.500Z, 2026-01-01T00:00:30.500Z", "2026-01-01T01:00:30+01:00, 2026-01-01T00:00:30Z",
			"2026-02-30T00:00:30Z, null", "2026-01-01T24:00:00Z, null", "2026-01-01 00:00:30Z, null", "soon, null" })
	void resetsAreReadAsRfc3339(String header, String expected) {
		assertThat(RateLimitReport.instant(header)).isEqualTo((expected != null) ? Instant.parse(expected) : null);
	}

	@ParameterizedTest
	@CsvSource({ "50, 50, 100000, 100000, 1.0", "50, 25, 100000, 100000, 0.5", "50, 50, 100000, 10000, 0.1",
			"50, 0, 100000, 100000, 0.0" })
	void headroomIsTheSmallestRemainingFraction(long requestsLimit, long requests, long tokensLimit, long tokens,
			double expected) {
		Map<String, String> headers = Map.of("anthropic-ratelimit-requests-limit", Long.toString(requestsLimit),
				"anthropic-ratelimit-requests-remaining", Long.toString(requests),
				"anthropic-ratelimit-tokens-limit", Long.toString(tokensLimit),
				"anthropic-ratelimit-tokens-remaining", Long.toString(tokens));

		assertThat(RateLimitReport.parse(headers::get).orElseThrow().headroom()).isEqualTo(expected);
	}

	@ParameterizedTest
	@CsvSource(nullValues = "null", value = { "null", "abc", "''" })
	void aResponseWithoutUsableFiguresReportsNothing(String remaining) {
		Map<String, String> headers = new HashMap<>();
		headers.put("anthropic-ratelimit-requests-remaining", remaining);

		assertThat(RateLimitReport.parse(headers::get)).isEmpty();
	}

}
