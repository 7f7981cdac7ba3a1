package dev.keypool.gateway;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import mockwebserver3.MockResponse;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.netty.http.client.HttpClient;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.support.GatewayTestProperties;
import dev.keypool.support.MutableClock;
import dev.keypool.support.UpstreamStub;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;

import static dev.keypool.support.UpstreamStub.json;
import static dev.keypool.support.UpstreamStub.rateLimited;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Anthropic-aware scheduling through real HTTP: model-class scopes, groups, proactive
 * cooldowns from the rate-limit headers, strategies and sticky sessions, against an upstream
 * that sends the provider's headers. The clock is moved by hand.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		classes = { dev.keypool.KeypoolGatewayApplication.class, SchedulingIntegrationTest.TestClock.class })
class SchedulingIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-team-a-0001";

	static final Instant START = Instant.parse("2026-01-01T00:00:00Z");

	static final UpstreamStub upstream = new UpstreamStub();

	static final MutableClock clock = new MutableClock(START);

	static final String OPUS = "{\"model\":\"claude-opus-4-7\",\"max_tokens\":10,\"messages\":[]}";

	static final String HAIKU = "{\"model\":\"claude-3-5-haiku-20241022\",\"max_tokens\":10,\"messages\":[]}";

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.client("team-a", CLIENT_TOKEN)
			.pool("sched", "k0", secret("k0"), "k1", secret("k1"))
			.pool("grouped", "a1", secret("a1"), "a2", secret("a2"), "b1", secret("b1"))
			.set("keypool.pools.grouped.keys[0].group", "org-a")
			.set("keypool.pools.grouped.keys[1].group", "org-a")
			.pool("rr", "r0", secret("r0"), "r1", secret("r1"), "r2", secret("r2"))
			.set("keypool.pools.rr.strategy", "round-robin")
			.pool("head", "h0", secret("h0"), "h1", secret("h1"), "h2", secret("h2"))
			.set("keypool.pools.head.strategy", "headroom")
			.route("grouped", upstream::url, "/grouped/**", "StripPrefix=1", "KeyFailover=grouped")
			.route("rr", upstream::url, "/rr/**", "StripPrefix=1", "KeyFailover=rr")
			.route("head", upstream::url, "/head/**", "StripPrefix=1", "KeyFailover=head")
			.route("sched", upstream::url, "/v1/**", "KeyFailover=sched");
	}

	static String secret(String id) {
		return "sk-" + id + "-secret-abcdefgh";
	}

	@TestConfiguration(proxyBeanMethods = false)
	static class TestClock {

		@Bean
		@Primary
		MutableClock testClock() {
			return clock;
		}

	}

	@LocalServerPort
	int port;

	@Autowired
	KeyPools pools;

	WebTestClient client;

	@BeforeEach
	void setUp() {
		upstream.reset();
		clock.set(START);
		for (KeyPool pool : this.pools.all()) {
			pool.keys().forEach(pool::reset);
		}
		this.client = WebTestClient.bindToServer(new ReactorClientHttpConnector(HttpClient.create()))
			.baseUrl("http://127.0.0.1:" + this.port)
			.responseTimeout(Duration.ofSeconds(20))
			.build();
	}

	@AfterAll
	static void stopUpstream() {
		upstream.close();
	}

	@Test
	void anOpusRateLimitLeavesHaikuOnTheSameKey() {
		upstream.enqueue(rateLimited("30"));

		assertThat(post("/v1/messages", OPUS, null).key()).isEqualTo("k1");
		Served haiku = post("/v1/messages", HAIKU, null);
		assertThat(haiku.status()).isEqualTo(200);
		assertThat(haiku.key()).isEqualTo("k0");
		assertThat(haiku.header("X-Keypool-Attempts")).isEqualTo("1");

		assertThat(keysTried()).containsExactly(secret("k0"), secret("k1"), secret("k0"));
	}

	@Test
	void everyKeyOpusLimitedStillServesHaiku() {
		upstream.enqueue(rateLimited("30"), rateLimited("20"));

		Served exhausted = post("/v1/messages", OPUS, null);
		assertThat(exhausted.status()).isEqualTo(429);
		assertThat(exhausted.header("Retry-After")).isEqualTo("20");
		assertThat(exhausted.header("x-should-retry")).isEqualTo("true");
		assertThat(exhausted.body()).contains("\"type\":\"rate_limit_error\"");
		assertThat(post("/v1/messages", HAIKU, null).key()).isEqualTo("k0");
		assertThat(post("/v1/messages", OPUS, null).status()).isEqualTo(429);

		assertThat(keysTried()).containsExactly(secret("k0"), secret("k1"), secret("k0"));
	}

	@Test
	void everyKeyDisabledAnswers502ThatSaysNotToRetry() {
		upstream.enqueue(json(401, "{}"), json(403, "{}"));

		Served exhausted = post("/v1/messages", OPUS, null);
		assertThat(exhausted.status()).isEqualTo(502);
		assertThat(exhausted.header("x-should-retry")).isEqualTo("false");
		assertThat(exhausted.header("Retry-After")).isNull();
	}

	@Test
	void aGroupCoolsTogetherWithinOneWalk() {
		upstream.enqueue(rateLimited("30"));

		Served opus = post("/grouped/v1/messages", OPUS, null);
		assertThat(opus.key()).isEqualTo("b1");
		assertThat(opus.header("X-Keypool-Attempts")).isEqualTo("2");
		assertThat(post("/grouped/v1/messages", HAIKU, null).key()).isEqualTo("a1");

		assertThat(keysTried()).as("a2 shares a1's limit: never tried for opus")
			.containsExactly(secret("a1"), secret("b1"), secret("a1"));
	}

	@Test
	void aResponseReportingNoRequestsLeftMakesTheNextRequestSkipTheKeyUntilExactlyTheReset() {
		Instant reset = START.plusSeconds(42);
		upstream.enqueue(withLimits(200, "requests", "50", "0", reset));

		assertThat(post("/v1/messages", OPUS, null).key()).isEqualTo("k0");
		Served next = post("/v1/messages", OPUS, null);
		assertThat(next.key()).isEqualTo("k1");
		assertThat(next.header("X-Keypool-Attempts")).isEqualTo("1");
		clock.set(reset.minusMillis(1));
		assertThat(post("/v1/messages", OPUS, null).key()).isEqualTo("k1");
		clock.set(reset);
		assertThat(post("/v1/messages", OPUS, null).key()).isEqualTo("k0");

		assertThat(keysTried()).containsExactly(secret("k0"), secret("k1"), secret("k1"), secret("k0"));
	}

	@Test
	void inputTokensBelowTheThresholdLikewise() {
		Instant reset = START.plusSeconds(7);
		upstream.enqueue(withLimits(200, "input-tokens", "400000", "999", reset));

		assertThat(post("/v1/messages", OPUS, null).key()).isEqualTo("k0");
		assertThat(post("/v1/messages", OPUS, null).key()).isEqualTo("k1");
		assertThat(post("/v1/messages", HAIKU, null).key()).isEqualTo("k0");
		clock.set(reset);
		assertThat(post("/v1/messages", OPUS, null).key()).isEqualTo("k0");
	}

	@Test
	void roundRobinStartsSuccessiveRequestsAtSuccessiveKeys() {
		List<String> order = List.of("r0", "r1", "r2");
		int first = order.indexOf(post("/rr/v1/messages", OPUS, null).key());
		for (int i = 1; i < 4; i++) {
			assertThat(post("/rr/v1/messages", OPUS, null).key()).isEqualTo(order.get((first + i) % 3));
		}
	}

	@Test
	void headroomTriesTheKeyWithTheMostCapacityLeftFirst() {
		Instant reset = START.plusSeconds(60);
		upstream.enqueue(withLimits(200, "tokens", "100000", "20000", reset));

		assertThat(post("/head/v1/messages", OPUS, null).key()).isEqualTo("h0");
		assertThat(post("/head/v1/messages", OPUS, null).key()).isEqualTo("h1");
		upstream.enqueue(withLimits(200, "tokens", "100000", "10000", reset));
		assertThat(post("/head/v1/messages", OPUS, null).key()).isEqualTo("h1");
		assertThat(post("/head/v1/messages", OPUS, null).key()).isEqualTo("h2");
		assertThat(post("/head/v1/messages", HAIKU, null).key()).isEqualTo("h0");
	}

	@Test
	void aSessionStaysOnItsKeyAfterTheFirstKeyRecovers() {
		upstream.enqueue(rateLimited("10"));
		assertThat(post("/v1/messages", OPUS, "session-1").key()).isEqualTo("k1");

		clock.advance(Duration.ofSeconds(11));

		assertThat(post("/v1/messages", OPUS, "session-1").key()).isEqualTo("k1");
		assertThat(post("/v1/messages", OPUS, "session-2").key()).isEqualTo("k0");
		assertThat(post("/v1/messages", OPUS, null).key()).isEqualTo("k0");
	}

	@Test
	void providerHeadersReachTheCallerUntouched() {
		Instant reset = START.plusSeconds(60);
		MockResponse response = new MockResponse.Builder().code(529)
			.addHeader("Content-Type", "application/json")
			.addHeader("retry-after", "17")
			.addHeader("x-should-retry", "true")
			.addHeader("request-id", "req_0123456789")
			.addHeader("anthropic-ratelimit-requests-limit", "50")
			.addHeader("anthropic-ratelimit-requests-remaining", "49")
			.addHeader("anthropic-ratelimit-requests-reset", reset.toString())
			.body("{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}")
			.build();
		upstream.enqueue(response, withLimits(200, "output-tokens", "8000", "7000", reset));

		Served relayed = post("/v1/messages", OPUS, null);
		assertThat(relayed.status()).isEqualTo(529);
		assertThat(relayed.header("retry-after")).isEqualTo("17");
		assertThat(relayed.header("x-should-retry")).isEqualTo("true");
		assertThat(relayed.header("request-id")).isEqualTo("req_0123456789");
		assertThat(relayed.header("anthropic-ratelimit-requests-limit")).isEqualTo("50");
		assertThat(relayed.header("anthropic-ratelimit-requests-remaining")).isEqualTo("49");
		assertThat(relayed.header("anthropic-ratelimit-requests-reset")).isEqualTo(reset.toString());
		Served ok = post("/v1/messages", OPUS, null);
		assertThat(ok.status()).isEqualTo(200);
		assertThat(ok.header("anthropic-ratelimit-output-tokens-limit")).isEqualTo("8000");
		assertThat(ok.header("anthropic-ratelimit-output-tokens-remaining")).isEqualTo("7000");
	}

	@Test
	void aFloodOfRandomModelsAndSessionsStaysBounded() {
		KeyPool pool = this.pools.get("sched").orElseThrow();
		for (int i = 0; i < 60; i++) {
			upstream.enqueue(rateLimited("30"), rateLimited("30"));
			assertThat(post("/v1/messages", "{\"model\":\"claude-x" + i + "-1\"}", "flood-" + i).status())
				.isEqualTo(429);
		}

		assertThat(pool.modelClasses().named()).hasSizeLessThanOrEqualTo(16);
		assertThat(pool.store().scopes("sched", pool.stateId(pool.key("k0").orElseThrow()))).hasSizeLessThanOrEqualTo(17);
		String scrape = new String(WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + this.managementPort)
			.build()
			.get()
			.uri("/actuator/prometheus")
			.exchange()
			.expectBody()
			.returnResult()
			.getResponseBody(), java.nio.charset.StandardCharsets.UTF_8);
		long series = scrape.lines()
			.filter((line) -> line.startsWith("keypool_model_cooldown_remaining_seconds{") && line.contains("pool=\"sched\""))
			.count();
		assertThat(series).as("2 keys x (16 named + other + *)").isLessThanOrEqualTo(2 * 18);
	}

	@org.springframework.boot.test.web.server.LocalManagementPort
	int managementPort;

	/** A pooled POST, its body read to the end. */
	private Served post(String path, String body, String session) {
		WebTestClient.RequestBodySpec request = this.client.post()
			.uri(path)
			.header("x-api-key", CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON);
		if (session != null) {
			request.header("x-claude-code-session-id", session);
		}
		EntityExchangeResult<String> result = request.bodyValue(body)
			.exchange()
			.expectBody(String.class)
			.returnResult();
		return new Served(result.getStatus().value(), result.getResponseHeaders(), result.getResponseBody());
	}

	record Served(int status, HttpHeaders headers, String body) {

		String key() {
			return this.headers.getFirst("X-Keypool-Key");
		}

		String header(String name) {
			return this.headers.getFirst(name);
		}

	}

	private static MockResponse withLimits(int status, String resource, String limit, String remaining,
			Instant reset) {
		return new MockResponse.Builder().code(status)
			.addHeader("Content-Type", "application/json")
			.addHeader("anthropic-ratelimit-" + resource + "-limit", limit)
			.addHeader("anthropic-ratelimit-" + resource + "-remaining", remaining)
			.addHeader("anthropic-ratelimit-" + resource + "-reset", reset.toString())
			.body("{\"type\":\"message\"}")
			.build();
	}

	private static List<String> keysTried() {
		return upstream.takeAll().stream().map((RecordedRequest request) -> request.getHeaders().get("x-api-key")).toList();
	}

}
