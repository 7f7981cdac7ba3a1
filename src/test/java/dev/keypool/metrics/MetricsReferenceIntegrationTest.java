package dev.keypool.metrics;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import mockwebserver3.MockResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.netty.http.client.HttpClient;

import dev.keypool.KeypoolGatewayApplication;
import dev.keypool.support.GatewayTestProperties;
import dev.keypool.support.UpstreamStub;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The metrics tables of docs/reference/metrics.md and docs/contract.md against a real scrape,
 * taken after traffic that makes every metric appear: a rate-limited key that reports its
 * limits, a success with usage, a client turned away by its budget. Each documented metric is
 * scraped with exactly the documented tags, and the scrape has no {@code keypool_*} metric the
 * tables lack. Only {@code keypool_state_store_up} (Redis only) is not scraped here.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, classes = KeypoolGatewayApplication.class)
class MetricsReferenceIntegrationTest {

	private static final String TOKEN = "client-token-capped-5e1b7a";

	private static final UpstreamStub upstream = new UpstreamStub();

	/** A table row: backticked metric names, then the type, then the tags. */
	private static final Pattern ROW = Pattern.compile("^\\| (`keypool_[^|]*) \\| ([^|]*) \\| ([^|]*) \\|$",
			Pattern.MULTILINE);

	private static final Pattern CODE = Pattern.compile("`([a-z_]+)`");

	private static final Set<String> HISTOGRAM_SUFFIXES = Set.of("_bucket", "_count", "_sum", "_max");

	@LocalServerPort
	int port;

	@LocalManagementPort
	int managementPort;

	@DynamicPropertySource
	static void properties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.client("capped", TOKEN)
			.set("keypool.clients[0].limits.requests-per-minute", 1)
			.pool("test", "k0", "sk-test-reference-0-abcd", "k1", "sk-test-reference-1-efgh")
			.route("test", upstream::url, "/v1/**", "KeyFailover=test");
	}

	@AfterAll
	static void stopUpstream() {
		upstream.close();
	}

	@ParameterizedTest(name = "{0}")
	@ValueSource(strings = { "docs/reference/metrics.md", "docs/contract.md" })
	void everyDocumentedMetricIsScrapedWithExactlyItsDocumentedTags(String doc) throws IOException {
		Map<String, Set<String>> documented = documented(Files.readString(Path.of(doc)));
		Map<String, Set<String>> scraped = scrapeAfterTraffic();

		Map<String, Set<String>> expected = new TreeMap<>(documented);
		expected.remove("keypool_state_store_up"); // only with keypool.state.store: redis
		assertThat(new TreeMap<>(scraped)).as("keypool_* metrics and their tags: scrape vs " + doc)
			.isEqualTo(expected);
	}

	@Test
	void theRedisOnlyGaugeIsDocumentedAsSuch() throws IOException {
		String table = Files.readString(Path.of("docs/reference/metrics.md"));
		assertThat(table).containsPattern("`keypool_state_store_up` \\|[^|\\n]*only with `keypool.state.store: redis`");
	}

	private Map<String, Set<String>> scrapeAfterTraffic() {
		if (!trafficSent) {
			sendTraffic();
			trafficSent = true;
		}
		String text = client(this.managementPort).get()
			.uri("/actuator/prometheus")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(String.class)
			.returnResult()
			.getResponseBody();
		Map<String, Set<String>> families = new TreeMap<>();
		for (String series : Scrape.parse(text).series().keySet()) {
			if (!series.startsWith("keypool_")) {
				continue;
			}
			int brace = series.indexOf('{');
			String name = (brace < 0) ? series : series.substring(0, brace);
			Set<String> tags = new TreeSet<>();
			if (brace >= 0) {
				Matcher label = Pattern.compile("([a-z_]+)=\"").matcher(series.substring(brace));
				while (label.find()) {
					tags.add(label.group(1));
				}
			}
			for (String suffix : HISTOGRAM_SUFFIXES) {
				if (name.equals("keypool_request_attempts" + suffix)) {
					name = "keypool_request_attempts";
					tags.remove("le");
				}
			}
			families.computeIfAbsent(name, (key) -> new TreeSet<>()).addAll(tags);
		}
		return families;
	}

	private static boolean trafficSent;

	private void sendTraffic() {
		upstream.enqueue(
				new MockResponse.Builder().code(429)
					.addHeader("Content-Type", "application/json")
					.addHeader("retry-after", "30")
					.addHeader("anthropic-ratelimit-requests-limit", "50")
					.addHeader("anthropic-ratelimit-requests-remaining", "0")
					.addHeader("anthropic-ratelimit-requests-reset", "2099-01-01T00:00:00Z")
					.body("{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}")
					.build(),
				UpstreamStub.json(200, "{\"type\":\"message\",\"model\":\"claude-opus-4-7\","
						+ "\"usage\":{\"input_tokens\":12,\"output_tokens\":34}}"));
		assertThat(post()).isEqualTo(200);
		assertThat(post()).as("the capped client's second request in a minute").isEqualTo(429);
	}

	private int post() {
		return client(this.port).post()
			.uri("/v1/messages")
			.header("x-api-key", TOKEN)
			.header("Content-Type", "application/json")
			.bodyValue("{\"model\":\"claude-opus-4-7\",\"max_tokens\":1}".getBytes(StandardCharsets.UTF_8))
			.exchange()
			.expectBody()
			.returnResult()
			.getStatus()
			.value();
	}

	/** Metric name → tag names, from every {@code | `keypool_...` | type | tags |} row. */
	static Map<String, Set<String>> documented(String markdown) {
		Map<String, Set<String>> documented = new TreeMap<>();
		Matcher row = ROW.matcher(markdown);
		while (row.find()) {
			Set<String> tags = new TreeSet<>();
			Matcher tag = CODE.matcher(row.group(3).replaceAll("\\([^)]*\\)", ""));
			while (tag.find()) {
				tags.add(tag.group(1));
			}
			Matcher name = CODE.matcher(row.group(1));
			while (name.find()) {
				documented.put(name.group(1), tags);
			}
		}
		assertThat(documented).as("metric rows").isNotEmpty();
		return documented;
	}

	private static WebTestClient client(int port) {
		return WebTestClient.bindToServer(new ReactorClientHttpConnector(HttpClient.create()))
			.baseUrl("http://127.0.0.1:" + port)
			.responseTimeout(Duration.ofSeconds(20))
			.build();
	}

}
