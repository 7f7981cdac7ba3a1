package dev.keypool.gateway;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.netty.http.client.HttpClient;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyStatus;
import dev.keypool.support.GatewayTestProperties;
import dev.keypool.support.MutableClock;
import dev.keypool.support.UpstreamStub;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

import static dev.keypool.support.UpstreamStub.json;
import static dev.keypool.support.UpstreamStub.rateLimited;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code KeyFailover} filter through real HTTP: a client, the gateway on a random port and
 * a real local upstream that records what it received.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		classes = { dev.keypool.KeypoolGatewayApplication.class, KeyFailoverIntegrationTest.TestClock.class })
class KeyFailoverIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-team-a-0001";

	static final UpstreamStub upstream = new UpstreamStub();

	static final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.set("keypool.max-request-body", "2MB")
			.client("team-a", CLIENT_TOKEN)
			.pool("test", "k0", "sk-test-secret-0-abcdefgh", "k1", "sk-test-secret-1-abcdefgh", "k2",
					"sk-test-secret-2-abcdefgh")
			.route("test", upstream::url, "/v1/**", "KeyFailover=test");
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
		KeyPool pool = this.pools.get("test").orElseThrow();
		pool.keys().forEach(pool::reset);
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
	void singleAvailableKeyServesThePooledRequestWithThePoolKey() {
		upstream.enqueue(json(200, "{\"type\":\"message\",\"id\":\"msg_1\"}"));

		postMessage(CLIENT_TOKEN).expectStatus()
			.isOk()
			.expectHeader()
			.valueEquals("X-Keypool-Key", "k0")
			.expectHeader()
			.valueEquals("X-Keypool-Attempts", "1")
			.expectBody(String.class)
			.isEqualTo("{\"type\":\"message\",\"id\":\"msg_1\"}");

		RecordedRequest received = upstream.takeAll().get(0);
		assertThat(received.getHeaders().get("x-api-key")).isEqualTo("sk-test-secret-0-abcdefgh");
		assertThat(received.getHeaders().get("authorization")).isNull();
		assertThat(received.getHeaders().toString()).doesNotContain(CLIENT_TOKEN);
	}

	@Test
	void bearerClientTokenIsPooledLikeAnApiKey() {
		this.client.post()
			.uri("/v1/messages")
			.header("Authorization", "Bearer " + CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.valueEquals("X-Keypool-Key", "k0")
			.expectBody()
			.returnResult();

		RecordedRequest received = upstream.takeAll().get(0);
		assertThat(received.getHeaders().get("authorization")).isNull();
		assertThat(received.getHeaders().get("x-api-key")).isEqualTo("sk-test-secret-0-abcdefgh");
	}

	@Test
	void rateLimitedKeyFailsOverToTheNextAndCoolsDownForItsRetryAfter() {
		upstream.enqueue(rateLimited("30"), json(200, "{\"ok\":true}"));

		postMessage(CLIENT_TOKEN).expectStatus()
			.isOk()
			.expectHeader()
			.valueEquals("X-Keypool-Key", "k1")
			.expectHeader()
			.valueEquals("X-Keypool-Attempts", "2")
			.expectBody(String.class)
			.isEqualTo("{\"ok\":true}");

		assertThat(secretsSeen()).containsExactly("sk-test-secret-0-abcdefgh", "sk-test-secret-1-abcdefgh");
		KeyPool pool = this.pools.get("test").orElseThrow();
		assertThat(pool.status(pool.keys().get(0))).isEqualTo(KeyStatus.COOLING_DOWN);
		assertThat(pool.latestCooldown(pool.keys().get(0), clock.instant()).until())
			.isEqualTo(clock.instant().plusSeconds(30));
	}

	@ParameterizedTest
	@ValueSource(ints = { 401, 403 })
	void keyFailingAuthenticationIsDisabledAndTheNextKeyServes(int status) {
		upstream.enqueue(json(status, "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\"}}"),
				json(200, "{}"));

		postMessage(CLIENT_TOKEN).expectStatus()
			.isOk()
			.expectHeader()
			.valueEquals("X-Keypool-Key", "k1")
			.expectBody()
			.returnResult();

		KeyPool pool = this.pools.get("test").orElseThrow();
		assertThat(pool.status(pool.keys().get(0))).isEqualTo(KeyStatus.DISABLED);
		assertThat(pool.state(pool.keys().get(0)).lastStatus()).isEqualTo(status);
	}

	@Test
	void everyKeyRateLimitedAnswers429WithTheSoonestRetryAfter() {
		upstream.enqueue(rateLimited("5"), rateLimited("3"), rateLimited("10"));

		postMessage(CLIENT_TOKEN).expectStatus()
			.isEqualTo(429)
			.expectHeader()
			.valueEquals("Retry-After", "3")
			.expectHeader()
			.contentType(MediaType.APPLICATION_JSON)
			.expectBody(String.class)
			.isEqualTo("{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
					+ "\"message\":\"all configured keys are rate-limited\"}}");
	}

	@Test
	void everyKeyUnauthorizedAnswers502() {
		upstream.enqueue(json(401, "{}"), json(401, "{}"), json(403, "{}"));

		postMessage(CLIENT_TOKEN).expectStatus()
			.isEqualTo(502)
			.expectHeader()
			.doesNotExist("Retry-After")
			.expectBody(String.class)
			.isEqualTo("{\"type\":\"error\",\"error\":{\"type\":\"api_error\","
					+ "\"message\":\"all configured keys failed authentication\"}}");
	}

	@Test
	void mixedDisabledAndCoolingDownIsTransient() {
		upstream.enqueue(json(401, "{}"), rateLimited("7"), json(403, "{}"));

		postMessage(CLIENT_TOKEN).expectStatus()
			.isEqualTo(429)
			.expectHeader()
			.valueEquals("Retry-After", "7")
			.expectBody()
			.jsonPath("$.error.type")
			.isEqualTo("rate_limit_error");
	}

	@ParameterizedTest
	@ValueSource(ints = { 400, 404, 413, 500, 529 })
	void errorsThatAreNotTheKeysFaultAreRelayedWithoutFailover(int status) {
		String body = "{\"type\":\"error\",\"error\":{\"type\":\"upstream_" + status + "\",\"message\":\"as sent\"}}";
		upstream.enqueue(json(status, body));

		postMessage(CLIENT_TOKEN).expectStatus()
			.isEqualTo(status)
			.expectHeader()
			.valueEquals("X-Keypool-Key", "k0")
			.expectBody(String.class)
			.isEqualTo(body);

		assertThat(upstream.takeAll()).hasSize(1);
		KeyPool pool = this.pools.get("test").orElseThrow();
		assertThat(pool.keys()).allSatisfy((key) -> assertThat(pool.status(key)).isEqualTo(KeyStatus.AVAILABLE));
	}

	@Test
	void ownKeyIsPassedThroughOnceAndLeavesThePoolUntouched() {
		upstream.enqueue(rateLimited("30"));

		postMessage("sk-ant-callers-own-key").expectStatus()
			.isEqualTo(429)
			.expectHeader()
			.doesNotExist("X-Keypool-Key")
			.expectBody()
			.jsonPath("$.error.message")
			.isEqualTo("upstream says slow down");

		List<RecordedRequest> received = upstream.takeAll();
		assertThat(received).hasSize(1);
		assertThat(received.get(0).getHeaders().get("x-api-key")).isEqualTo("sk-ant-callers-own-key");
		KeyPool pool = this.pools.get("test").orElseThrow();
		assertThat(pool.keys()).allSatisfy((key) -> assertThat(pool.status(key)).isEqualTo(KeyStatus.AVAILABLE));
	}

	@Test
	void requestWithoutCredentialIsRejectedWithoutCallingUpstream() {
		this.client.post()
			.uri("/v1/messages")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{}")
			.exchange()
			.expectStatus()
			.isUnauthorized()
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo("error")
			.jsonPath("$.error.type")
			.isEqualTo("authentication_error");

		assertThat(upstream.takeAll()).isEmpty();
	}

	@Test
	void bodyOverTheLimitIs413AndNothingIsSentUpstream() {
		byte[] tooLarge = new byte[3 * 1024 * 1024];
		Arrays.fill(tooLarge, (byte) 'a');

		this.client.post()
			.uri("/v1/messages")
			.header("x-api-key", CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue(tooLarge)
			.exchange()
			.expectStatus()
			.isEqualTo(413)
			.expectBody()
			.jsonPath("$.error.type")
			.isEqualTo("request_too_large");

		assertThat(upstream.takeAll()).isEmpty();
	}

	@Test
	void theSameBodyBytesArriveOnEveryAttempt() {
		byte[] body = new byte[1024 * 1024];
		new Random(42).nextBytes(body);
		upstream.enqueue(rateLimited("1"), json(401, "{}"), json(200, "{}"));

		this.client.post()
			.uri("/v1/messages")
			.header("x-api-key", CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_OCTET_STREAM)
			.bodyValue(body)
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.valueEquals("X-Keypool-Attempts", "3")
			.expectBody()
			.returnResult();

		List<RecordedRequest> received = upstream.takeAll();
		assertThat(received).hasSize(3);
		assertThat(received).allSatisfy((request) -> {
			assertThat(request.getBody().toByteArray()).isEqualTo(body);
			assertThat(request.getHeaders().get("content-length")).isEqualTo(Integer.toString(body.length));
		});
	}

	@Test
	void cooldownPersistsAcrossRequestsUntilItEnds() {
		upstream.enqueue(rateLimited("20"), json(200, "{}"), json(200, "{}"), json(200, "{}"));

		postMessage(CLIENT_TOKEN).expectStatus().isOk().expectHeader().valueEquals("X-Keypool-Key", "k1")
			.expectBody()
			.returnResult();
		postMessage(CLIENT_TOKEN).expectStatus()
			.isOk()
			.expectHeader()
			.valueEquals("X-Keypool-Key", "k1")
			.expectHeader()
			.valueEquals("X-Keypool-Attempts", "1")
			.expectBody()
			.returnResult();
		clock.advance(Duration.ofSeconds(20));
		postMessage(CLIENT_TOKEN).expectStatus().isOk().expectHeader().valueEquals("X-Keypool-Key", "k0")
			.expectBody()
			.returnResult();

		assertThat(secretsSeen()).containsExactly("sk-test-secret-0-abcdefgh", "sk-test-secret-1-abcdefgh",
				"sk-test-secret-1-abcdefgh", "sk-test-secret-0-abcdefgh");
	}

	@Test
	void forwardingHeadersDoNotReachTheProviderOnPooledRequests() {
		this.client.post()
			.uri("/v1/messages")
			.header("x-api-key", CLIENT_TOKEN)
			.header("X-Forwarded-For", "10.1.2.3")
			.header("Forwarded", "for=10.1.2.3")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.returnResult();

		RecordedRequest received = upstream.takeAll().get(0);
		assertThat(received.getHeaders().names()).noneMatch((name) -> name.toLowerCase().startsWith("x-forwarded"));
		assertThat(received.getHeaders().get("forwarded")).isNull();
	}

	@Test
	void modelsAndCountTokensGoThroughThePool() {
		upstream.enqueue(rateLimited("9"), json(200, "{\"data\":[]}"), json(200, "{\"input_tokens\":12}"));

		this.client.get()
			.uri("/v1/models")
			.header("x-api-key", CLIENT_TOKEN)
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.valueEquals("X-Keypool-Key", "k1")
			.expectBody(String.class)
			.isEqualTo("{\"data\":[]}");
		this.client.post()
			.uri("/v1/messages/count_tokens")
			.header("x-api-key", CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"model\":\"m\",\"messages\":[]}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(String.class)
			.isEqualTo("{\"input_tokens\":12}");

		List<RecordedRequest> received = upstream.takeAll();
		assertThat(received).extracting(RecordedRequest::getTarget)
			.containsExactly("/v1/models", "/v1/models", "/v1/messages/count_tokens");
	}

	private WebTestClient.ResponseSpec postMessage(String credential) {
		return this.client.post()
			.uri("/v1/messages")
			.header("x-api-key", credential)
			.header("anthropic-version", "2023-06-01")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":16,\"messages\":[]}".getBytes(StandardCharsets.UTF_8))
			.exchange();
	}

	private List<String> secretsSeen() {
		return upstream.takeAll().stream().map((request) -> request.getHeaders().get("x-api-key")).toList();
	}

}
