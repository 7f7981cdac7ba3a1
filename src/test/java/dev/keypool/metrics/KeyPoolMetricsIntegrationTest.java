package dev.keypool.metrics;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.keypool.actuate.OperatingIntegrationTest;

import static dev.keypool.support.UpstreamStub.json;
import static dev.keypool.support.UpstreamStub.rateLimited;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * {@code /actuator/prometheus} on the management port: names, types, help and tags as
 * docs/contract.md promises, series present from startup, and values after real traffic.
 */
class KeyPoolMetricsIntegrationTest extends OperatingIntegrationTest {

	@Test
	void scrapeIsValidPrometheusTextFormat() throws Exception {
		upstream.enqueue(rateLimited("30"), json(401, "{}"), json(200, "{}"));
		assertThat(postPooled()).isEqualTo(200);

		scrape().assertPromtoolAccepts();
	}

	@ParameterizedTest(name = "{0} is a {1}")
	@CsvSource({ "keypool_key_state, gauge", "keypool_key_cooldown_remaining_seconds, gauge",
			"keypool_upstream_attempts_total, counter", "keypool_failovers_total, counter",
			"keypool_exhaustions_total, counter", "keypool_requests_total, counter",
			"keypool_request_attempts, histogram" })
	void everyMetricIsExportedUnderItsContractNameWithTypeAndHelp(String family, String type) {
		Scrape scrape = scrape();

		assertThat(scrape.type(family)).isEqualTo(type);
		assertThat(scrape.help(family)).isNotBlank();
	}

	@Test
	void neverUsedKeyHasEverySeriesFromStartup() {
		Scrape scrape = scrape();

		assertThat(scrape.value("keypool_key_state", "pool", "spare", "key", "s0", "state", "available")).isEqualTo(1);
		assertThat(scrape.value("keypool_key_state", "pool", "spare", "key", "s0", "state", "cooling_down")).isZero();
		assertThat(scrape.value("keypool_key_state", "pool", "spare", "key", "s0", "state", "disabled")).isZero();
		assertThat(scrape.value("keypool_key_cooldown_remaining_seconds", "pool", "spare", "key", "s0")).isZero();
		for (String outcome : List.of("success", "rate_limited", "auth_failed", "relayed_error", "network_error")) {
			assertThat(scrape.value("keypool_upstream_attempts_total", "pool", "spare", "key", "s0", "outcome", outcome))
				.isZero();
		}
		for (String reason : List.of("rate_limited", "auth_failed")) {
			assertThat(scrape.value("keypool_failovers_total", "pool", "spare", "reason", reason)).isZero();
		}
		for (String outcome : List.of("transient", "permanent")) {
			assertThat(scrape.value("keypool_exhaustions_total", "pool", "spare", "outcome", outcome)).isZero();
		}
		assertThat(scrape.value("keypool_requests_total", "pool", "spare", "mode", "pooled", "client", "team-a")).isZero();
		assertThat(scrape.value("keypool_requests_total", "pool", "spare", "mode", "byok", "client", "byok")).isZero();
		assertThat(scrape.value("keypool_request_attempts_count", "pool", "spare")).isZero();
	}

	@Test
	void keyStateGaugesFollowTheKeysAndTheCooldownCountsDown() {
		upstream.enqueue(rateLimited("30"), json(403, "{}"), json(200, "{}"));
		assertThat(postPooled()).isEqualTo(200);
		clock.advance(Duration.ofMillis(12_500));

		Scrape scrape = scrape();

		assertThat(states(scrape, "k0")).containsExactlyInAnyOrderEntriesOf(
				Map.of("available", 0.0, "cooling_down", 1.0, "disabled", 0.0));
		assertThat(states(scrape, "k1")).containsExactlyInAnyOrderEntriesOf(
				Map.of("available", 0.0, "cooling_down", 0.0, "disabled", 1.0));
		assertThat(states(scrape, "k2")).containsExactlyInAnyOrderEntriesOf(
				Map.of("available", 1.0, "cooling_down", 0.0, "disabled", 0.0));
		assertThat(scrape.value("keypool_key_cooldown_remaining_seconds", "pool", "test", "key", "k0"))
			.isCloseTo(17.5, within(0.001));
		assertThat(scrape.value("keypool_key_cooldown_remaining_seconds", "pool", "test", "key", "k1")).isZero();
	}

	@Test
	void countersCountAttemptsFailoversExhaustionsAndRequestsByMode() {
		Scrape before = scrape();
		upstream.enqueue(rateLimited("30"), json(401, "{}"), json(200, "{}"));
		assertThat(postPooled()).isEqualTo(200);
		upstream.enqueue(rateLimited("5"));
		assertThat(postPooled()).isEqualTo(429);
		upstream.enqueue(json(400, "{}"));
		assertThat(postByok("sk-ant-callers-own-key-0042")).isEqualTo(400);

		Scrape after = scrape();

		Map<String, Double> expected = Map.ofEntries(
				Map.entry("keypool_upstream_attempts_total{key=\"k0\",outcome=\"rate_limited\",pool=\"test\",}", 1.0),
				Map.entry("keypool_upstream_attempts_total{key=\"k1\",outcome=\"auth_failed\",pool=\"test\",}", 1.0),
				Map.entry("keypool_upstream_attempts_total{key=\"k2\",outcome=\"success\",pool=\"test\",}", 1.0),
				Map.entry("keypool_upstream_attempts_total{key=\"k2\",outcome=\"rate_limited\",pool=\"test\",}", 1.0),
				Map.entry("keypool_failovers_total{pool=\"test\",reason=\"rate_limited\",}", 2.0),
				Map.entry("keypool_failovers_total{pool=\"test\",reason=\"auth_failed\",}", 1.0),
				Map.entry("keypool_exhaustions_total{outcome=\"transient\",pool=\"test\",}", 1.0),
				Map.entry("keypool_requests_total{client=\"team-a\",mode=\"pooled\",pool=\"test\",}", 2.0),
				Map.entry("keypool_requests_total{client=\"byok\",mode=\"byok\",pool=\"test\",}", 1.0),
				Map.entry("keypool_request_attempts_count{pool=\"test\",}", 2.0),
				Map.entry("keypool_request_attempts_sum{pool=\"test\",}", 4.0),
				Map.entry("keypool_request_attempts_bucket{le=\"1.0\",pool=\"test\",}", 1.0),
				Map.entry("keypool_request_attempts_bucket{le=\"3.0\",pool=\"test\",}", 2.0));
		expected.forEach((series, delta) -> assertThat(delta(before, after, series)).as(series).isEqualTo(delta));
		assertThat(after.series().keySet().stream().filter((series) -> series.startsWith("keypool_")))
			.allSatisfy((series) -> assertThat(series).doesNotContain("sk-", "client-token", "/v1"));
	}

	@Test
	void byokTrafficCountsTheRequestButNoKeyAttempt() {
		Scrape before = scrape();
		upstream.enqueue(json(429, "{}"));
		assertThat(postByok("sk-ant-callers-own-key-0042")).isEqualTo(429);

		Scrape after = scrape();

		assertThat(delta(before, after, "keypool_requests_total{client=\"byok\",mode=\"byok\",pool=\"test\",}"))
			.isEqualTo(1);
		assertThat(after.series().entrySet().stream()
			.filter((entry) -> entry.getKey().startsWith("keypool_upstream_attempts_total")
					|| entry.getKey().startsWith("keypool_failovers_total"))
			.filter((entry) -> !entry.getValue().equals(before.series().get(entry.getKey())))).isEmpty();
		assertThat(states(after, "k0")).containsEntry("available", 1.0);
	}

	private Map<String, Double> states(Scrape scrape, String key) {
		return Map.of("available", scrape.value("keypool_key_state", "pool", "test", "key", key, "state", "available"),
				"cooling_down",
				scrape.value("keypool_key_state", "pool", "test", "key", key, "state", "cooling_down"), "disabled",
				scrape.value("keypool_key_state", "pool", "test", "key", key, "state", "disabled"));
	}

	private static double delta(Scrape before, Scrape after, String series) {
		assertThat(after.series()).as("series %s", series).containsKey(series);
		return after.series().get(series) - before.series().getOrDefault(series, 0.0);
	}

	private Scrape scrape() {
		return Scrape.parse(read("/actuator/prometheus"));
	}

}
