package dev.keypool.provider.vertex;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.keypool.KeypoolGatewayApplication;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyStatus;
import dev.keypool.support.FakeVertex;
import dev.keypool.support.GatewayTestProperties;
import dev.keypool.support.MutableClock;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Vertex pools through real HTTP, against a fake Google token endpoint and a fake Vertex AI:
 * every attempt goes to its key's own project and region with that service account's token,
 * tokens are exchanged once and renewed before they expire, a project out of quota fails over
 * and a refused one is disabled, and the gateway's own errors are Google's.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		classes = { KeypoolGatewayApplication.class, VertexPoolIntegrationTest.TestClock.class })
class VertexPoolIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-vertex-0001";

	static final String CALLER_PATH = "/v1/projects/callers-project/locations/us-east5/publishers/anthropic/models/"
			+ "claude-opus-4-7@20260101:rawPredict";

	static final String SA1 = "gateway-1@project-one.iam.gserviceaccount.com";

	static final String SA2 = "gateway-2@project-two.iam.gserviceaccount.com";

	static final MutableClock clock = new MutableClock(Instant.now());

	static final FakeVertex vertex = new FakeVertex();

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties properties = GatewayTestProperties.on(registry)
			.client("team-v", CLIENT_TOKEN)
			.set("keypool.pools.vertex.provider", "vertex");
		key(properties, 0, "one", vertex.serviceAccount(SA1), "project-one", "us-east5");
		key(properties, 1, "two", vertex.serviceAccount(SA2), "project-two", "europe-west1");
		properties.route("vertex", vertex::url, "/v1/projects/**", "KeyFailover=vertex");
	}

	static void key(GatewayTestProperties properties, int index, String id, String credentials, String project,
			String region) {
		String key = "keypool.pools.vertex.keys[" + index + "].";
		properties.set(key + "id", id)
			.set(key + "credentials", credentials)
			.set(key + "project", project)
			.set(key + "region", region);
	}

	@LocalServerPort
	int port;

	@Autowired
	KeyPools pools;

	WebTestClient client;

	@BeforeEach
	void setUp() {
		vertex.reset();
		KeyPool pool = this.pools.get("vertex").orElseThrow();
		pool.keys().forEach(pool::reset);
		this.client = WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + this.port)
			.responseTimeout(Duration.ofSeconds(20))
			.build();
	}

	@AfterAll
	static void stopVertex() {
		vertex.close();
	}

	@Test
	void aPooledRequestGoesToTheKeysOwnProjectAndRegionWithItsToken() {
		rawPredict().expectStatus().isOk().expectHeader().valueEquals("X-Keypool-Key", "one").expectBody(String.class)
			.value((body) -> assertThat(body).contains(FakeVertex.TEXT));

		assertThat(vertex.received()).singleElement().satisfies((received) -> {
			assertThat(received.account()).isEqualTo(SA1);
			assertThat(received.uri()).isEqualTo("/v1/projects/project-one/locations/us-east5/publishers/anthropic/"
					+ "models/claude-opus-4-7@20260101:rawPredict");
			assertThat(received.headers().toString()).doesNotContain(CLIENT_TOKEN);
		});
	}

	@Test
	void aProjectOutOfQuotaFailsOverToTheNextAccountInItsOwnProject() {
		vertex.exhaust("project-one");

		rawPredict().expectStatus().isOk().expectHeader().valueEquals("X-Keypool-Key", "two").expectBody()
			.consumeWith((result) -> assertThat(result.getResponseBody()).isNotEmpty());

		assertThat(vertex.received()).extracting(FakeVertex.Received::project, FakeVertex.Received::region,
				FakeVertex.Received::account)
			.containsExactly(org.assertj.core.groups.Tuple.tuple("project-one", "us-east5", SA1),
					org.assertj.core.groups.Tuple.tuple("project-two", "europe-west1", SA2));
		KeyPool pool = this.pools.get("vertex").orElseThrow();
		assertThat(pool.cooldowns(pool.keys().get(0), clock.instant())).extracting(KeyPool.Cooldown::modelClass)
			.containsExactly("opus");
	}

	@Test
	void aRefusedAccountIsDisabled() {
		vertex.forbid("project-one");

		rawPredict().expectStatus().isOk().expectHeader().valueEquals("X-Keypool-Key", "two").expectBody()
			.consumeWith((result) -> assertThat(result.getResponseBody()).isNotEmpty());

		KeyPool pool = this.pools.get("vertex").orElseThrow();
		assertThat(pool.status(pool.keys().get(0))).isEqualTo(KeyStatus.DISABLED);
	}

	@Test
	void tokensAreExchangedOnceAndRenewedBeforeTheyExpire() {
		int before = vertex.exchanges(SA1);
		rawPredict().expectStatus().isOk().expectBody().consumeWith((result) -> { });
		rawPredict().expectStatus().isOk().expectBody().consumeWith((result) -> { });
		int afterTwo = vertex.exchanges(SA1);

		// 3600s tokens are used until 5 minutes before they expire
		clock.advance(Duration.ofMinutes(56));
		rawPredict().expectStatus().isOk().expectBody().consumeWith((result) -> { });

		assertThat(afterTwo - before).isLessThanOrEqualTo(1);
		assertThat(vertex.exchanges(SA1)).isEqualTo(afterTwo + 1);
		List<String> tokens = vertex.received().stream().map((r) -> r.headers().get("authorization")).toList();
		assertThat(tokens.get(0)).isEqualTo(tokens.get(1)).isNotEqualTo(tokens.get(2));
	}

	@Test
	void streamRawPredictIsRelayedAsEvents() {
		this.client.post()
			.uri(CALLER_PATH.replace(":rawPredict", ":streamRawPredict"))
			.header("Authorization", "Bearer " + CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"anthropic_version\":\"vertex-2023-10-16\",\"stream\":true,\"max_tokens\":5,\"messages\":[]}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.contentTypeCompatibleWith(MediaType.TEXT_EVENT_STREAM)
			.expectBody(String.class)
			.value((body) -> assertThat(body).contains("event: message_start").contains(FakeVertex.TEXT)
				.contains("event: message_stop"));
	}

	@Test
	void everyProjectOutOfQuotaIsA429InGooglesShape() {
		vertex.exhaust("project-one");
		vertex.exhaust("project-two");

		rawPredict().expectStatus()
			.isEqualTo(429)
			.expectHeader()
			.exists("Retry-After")
			.expectBody(String.class)
			.isEqualTo("{\"error\":{\"code\":429,\"message\":\"all configured keys are rate-limited\","
					+ "\"status\":\"RESOURCE_EXHAUSTED\"}}");
	}

	@Test
	void aCallersOwnTokenIsForwardedWithItsPathUntouched() {
		this.client.post()
			.uri(CALLER_PATH)
			.header("Authorization", "Bearer ya29.the-callers-own-token")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{}")
			.exchange()
			.expectStatus()
			.isUnauthorized()
			.expectBody()
			.consumeWith((result) -> assertThat(result.getResponseBody()).isNotEmpty());

		assertThat(vertex.received()).singleElement().satisfies((received) -> {
			assertThat(received.uri()).isEqualTo(CALLER_PATH);
			assertThat(received.headers().get("authorization")).isEqualTo("Bearer ya29.the-callers-own-token");
		});
	}

	private WebTestClient.ResponseSpec rawPredict() {
		return this.client.post()
			.uri(CALLER_PATH)
			.header("Authorization", "Bearer " + CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"anthropic_version\":\"vertex-2023-10-16\",\"max_tokens\":5,\"messages\":[]}")
			.exchange();
	}

	@TestConfiguration(proxyBeanMethods = false)
	static class TestClock {

		@Bean
		@Primary
		MutableClock testClock() {
			return clock;
		}

	}

}
