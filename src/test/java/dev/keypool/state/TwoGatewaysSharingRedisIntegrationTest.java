package dev.keypool.state;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import dev.keypool.KeypoolGatewayApplication;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyStateStore;
import dev.keypool.pool.KeyStatus;
import dev.keypool.pool.PoolKey;
import dev.keypool.support.UpstreamStub;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.netty.http.client.HttpClient;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;

import static dev.keypool.support.UpstreamStub.json;
import static dev.keypool.support.UpstreamStub.rateLimited;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two gateway instances (two application contexts, each with its own Redis connections) in
 * front of one upstream and one Redis: what one learns about a key, the other honours
 * without trying the key itself.
 */
class TwoGatewaysSharingRedisIntegrationTest {

	@RegisterExtension
	static final RedisServerSupport redis = new RedisServerSupport();

	static final String CLIENT_TOKEN = "client-token-team-a-0001";

	static final String ADMIN_TOKEN = "admin-token-two-gateways-0001";

	static final UpstreamStub upstream = new UpstreamStub();

	static ConfigurableApplicationContext gatewayA;

	static ConfigurableApplicationContext gatewayB;

	@BeforeAll
	static void startGateways() {
		gatewayA = startGateway();
		gatewayB = startGateway();
	}

	@AfterAll
	static void stopGateways() {
		if (gatewayB != null) {
			gatewayB.close();
		}
		if (gatewayA != null) {
			gatewayA.close();
		}
		upstream.close();
	}

	@BeforeEach
	void everyKeyAvailableOnBoth() {
		upstream.reset();
		pool(gatewayA).keys().forEach(pool(gatewayA)::reset);
		await().atMost(Duration.ofSeconds(1)).until(() -> allAvailable(gatewayA) && allAvailable(gatewayB));
	}

	@Test
	void theStoreIsRedisAndConnected() {
		assertThat(gatewayA.getBean(KeyStateStore.class).health())
			.isEqualTo(new KeyStateStore.StoreHealth("redis", true));
		assertThat(gatewayB.getBean(KeyStateStore.class)).isInstanceOf(RedisKeyStateStore.class);
		LettuceClientConfiguration client = gatewayA.getBean(LettuceConnectionFactory.class).getClientConfiguration();
		assertThat(client.getShutdownQuietPeriod()).as("closes connections opened while stopping")
			.isEqualTo(Duration.ofMillis(100));
		assertThat(client.getShutdownTimeout()).isEqualTo(Duration.ofSeconds(1));
	}

	@Test
	void aRateLimitSeenByOneGatewayMakesTheOtherSkipThatKey() {
		upstream.enqueue(rateLimited("60"), json(200, "{\"ok\":\"a\"}"));
		assertServedBy(post(gatewayA), "k1");
		assertThat(secretsSeen()).containsExactly(secret(0), secret(1));
		await().atMost(Duration.ofSeconds(1)).until(() -> status(gatewayB, "k0") == KeyStatus.COOLING_DOWN);

		upstream.enqueue(json(200, "{\"ok\":\"b\"}"));
		EntityExchangeResult<byte[]> servedByB = post(gatewayB);

		assertServedBy(servedByB, "k1");
		assertThat(servedByB.getResponseHeaders().getFirst("X-Keypool-Attempts")).isEqualTo("1");

		assertThat(secretsSeen()).as("B never tried the rate-limited key").containsExactly(secret(1));
	}

	@Test
	void aProactiveCooldownSeenByOneGatewayMakesTheOtherSkipThatKeyForThatModelClassOnly() {
		String reset = java.time.Instant.now().plusSeconds(60).toString();
		upstream.enqueue(new mockwebserver3.MockResponse.Builder().code(200)
			.addHeader("Content-Type", "application/json")
			.addHeader("anthropic-ratelimit-requests-limit", "50")
			.addHeader("anthropic-ratelimit-requests-remaining", "0")
			.addHeader("anthropic-ratelimit-requests-reset", reset)
			.body("{\"ok\":\"a\"}")
			.build());
		assertServedBy(post(gatewayA), "k0");
		secretsSeen();
		KeyPool poolB = pool(gatewayB);
		await().atMost(Duration.ofSeconds(1))
			.until(() -> !poolB.state(poolB.key("k0").orElseThrow(), "sonnet").isAvailableAt(java.time.Instant.now()));

		EntityExchangeResult<byte[]> sonnetOnB = post(gatewayB);
		EntityExchangeResult<byte[]> haikuOnB = post(gatewayB,
				"{\"model\":\"claude-3-5-haiku-20241022\",\"max_tokens\":16,\"messages\":[]}");

		assertServedBy(sonnetOnB, "k1");
		assertThat(sonnetOnB.getResponseHeaders().getFirst("X-Keypool-Attempts")).isEqualTo("1");
		assertServedBy(haikuOnB, "k0");
		assertThat(secretsSeen()).as("B never spent a Sonnet request on k0").containsExactly(secret(1), secret(0));
		assertThat(poolB.cooldowns(poolB.keys().get(0), java.time.Instant.now())).singleElement()
			.satisfies((cooldown) -> assertThat(cooldown.reason().wireName()).isEqualTo("proactive"));
		assertThat(gatewayB.getBean(io.micrometer.core.instrument.MeterRegistry.class)
			.get("keypool.model.cooldown.remaining")
			.tags("key", "k0", "model_class", "sonnet")
			.gauge()
			.value()).as("B shows the class cooldown it learned through Redis").isPositive();
	}

	@Test
	void aKeyDisabledOnOneGatewayStaysDisabledOnTheOther() {
		upstream.enqueue(json(401, "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\"}}"));
		assertServedBy(post(gatewayA), "k1");
		await().atMost(Duration.ofSeconds(1)).until(() -> status(gatewayB, "k0") == KeyStatus.DISABLED);
		secretsSeen();

		assertServedBy(post(gatewayB), "k1");

		assertThat(secretsSeen()).containsExactly(secret(1));
	}

	@Test
	void aResetOnOneGatewayMakesTheKeyAvailableOnTheOtherWithinOneSecond() {
		upstream.enqueue(json(401, "{}"));
		assertThat(post(gatewayA).getStatus().value()).isEqualTo(200);
		await().atMost(Duration.ofSeconds(1)).until(() -> status(gatewayB, "k0") == KeyStatus.DISABLED);

		KeyPool poolA = pool(gatewayA);
		poolA.reset(poolA.key("k0").orElseThrow());

		await().atMost(Duration.ofSeconds(1)).until(() -> status(gatewayB, "k0") == KeyStatus.AVAILABLE);
		assertServedBy(post(gatewayB), "k0");
	}

	@Test
	void requestsKeepSucceedingWhileRedisIsDownAndTheGatewaysConvergeAfterwards() {
		redis.pause();
		try {
			upstream.enqueue(rateLimited("60"));
			assertServedBy(post(gatewayA), "k1");
			assertThat(post(gatewayB).getStatus().value()).isEqualTo(200);
			assertServedBy(post(gatewayA), "k1");
		}
		finally {
			redis.resume();
		}

		await().atMost(Duration.ofSeconds(3)).until(() -> status(gatewayB, "k0") == KeyStatus.COOLING_DOWN);
		// A's sync replays (B sees it) before it loads the state and reports itself connected
		await().atMost(Duration.ofSeconds(3)).until(() -> gatewayA.getBean(KeyStateStore.class).health().connected());
	}

	@Test
	void anAdminResetDuringARedisOutageHoldsWhenRedisComesBackEmpty() {
		upstream.enqueue(json(401, "{}"));
		assertServedBy(post(gatewayA), "k1");
		await().atMost(Duration.ofSeconds(1)).until(() -> status(gatewayB, "k0") == KeyStatus.DISABLED);
		// B comes back later than Redis, still knowing k0 disabled
		RedisKeyStateStore storeB = gatewayB.getBean(RedisKeyStateStore.class);
		storeB.stop();
		redis.stop();
		try {
			assertThat(resetThroughActuator(gatewayA, "k0")).isEqualTo(204);
			await().atMost(Duration.ofSeconds(3)).until(() -> !gatewayA.getBean(KeyStateStore.class).health().connected());
			assertThat(status(gatewayA, "k0")).isEqualTo(KeyStatus.AVAILABLE);
		}
		finally {
			redis.start();
		}

		await().atMost(Duration.ofSeconds(10)).until(() -> gatewayA.getBean(KeyStateStore.class).health().connected());
		storeB.start();
		// B gave back what it knew before it reports itself connected; A hearing B's next change
		// means A heard all of it
		KeyPool poolB = pool(gatewayB);
		poolB.disable(poolB.key("k2").orElseThrow(), 401);
		await().atMost(Duration.ofSeconds(3)).until(() -> status(gatewayA, "k2") == KeyStatus.DISABLED);
		assertThat(status(gatewayA, "k0")).isEqualTo(KeyStatus.AVAILABLE);
		assertThat(status(gatewayB, "k0")).isEqualTo(KeyStatus.AVAILABLE);
		assertServedBy(post(gatewayB), "k0");
	}

	// ---- helpers

	private static ConfigurableApplicationContext startGateway() {
		Map<String, Object> properties = new java.util.LinkedHashMap<>();
		properties.put("server.port", "0");
		properties.put("management.server.port", "0");
		properties.put("spring.main.banner-mode", "off");
		properties.put("keypool.state.store", "redis");
		properties.put("spring.data.redis.host", redis.host());
		properties.put("spring.data.redis.port", Integer.toString(redis.port()));
		properties.put("spring.data.redis.timeout", "500ms");
		properties.put("keypool.admin.token", ADMIN_TOKEN);
		properties.put("keypool.clients[0].id", "team-a");
		properties.put("keypool.clients[0].token", CLIENT_TOKEN);
		for (int i = 0; i < 3; i++) {
			properties.put("keypool.pools.test.keys[" + i + "].id", "k" + i);
			properties.put("keypool.pools.test.keys[" + i + "].secret", secret(i));
		}
		properties.put("spring.cloud.gateway.server.webflux.routes[0].id", "test");
		properties.put("spring.cloud.gateway.server.webflux.routes[0].uri", upstream.url());
		properties.put("spring.cloud.gateway.server.webflux.routes[0].predicates[0]", "Path=/v1/**");
		properties.put("spring.cloud.gateway.server.webflux.routes[0].filters[0]", "KeyFailover=test");
		// as arguments, so they win over application.yaml like a deployment's settings would
		String[] args = properties.entrySet()
			.stream()
			.map((property) -> "--" + property.getKey() + "=" + property.getValue())
			.toArray(String[]::new);
		return new SpringApplicationBuilder(KeypoolGatewayApplication.class).run(args);
	}

	private static String secret(int i) {
		return "sk-test-secret-" + i + "-abcdefgh";
	}

	private static KeyPool pool(ConfigurableApplicationContext gateway) {
		return gateway.getBean(KeyPools.class).get("test").orElseThrow();
	}

	private static KeyStatus status(ConfigurableApplicationContext gateway, String keyId) {
		KeyPool pool = pool(gateway);
		return pool.status(pool.key(keyId).orElseThrow());
	}

	private static boolean allAvailable(ConfigurableApplicationContext gateway) {
		KeyPool pool = pool(gateway);
		for (PoolKey key : pool.keys()) {
			if (pool.status(key) != KeyStatus.AVAILABLE) {
				return false;
			}
		}
		return true;
	}

	/** One pooled request; the body is read (and its buffers released) before returning. */
	private static EntityExchangeResult<byte[]> post(ConfigurableApplicationContext gateway) {
		return post(gateway, "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":16,\"messages\":[]}");
	}

	private static EntityExchangeResult<byte[]> post(ConfigurableApplicationContext gateway, String body) {
		String port = gateway.getEnvironment().getProperty("local.server.port");
		return WebTestClient.bindToServer(new ReactorClientHttpConnector(HttpClient.create()))
			.baseUrl("http://127.0.0.1:" + port)
			.responseTimeout(Duration.ofSeconds(20))
			.build()
			.post()
			.uri("/v1/messages")
			.header("x-api-key", CLIENT_TOKEN)
			.header("anthropic-version", "2023-06-01")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue(body.getBytes(StandardCharsets.UTF_8))
			.exchange()
			.expectBody()
			.returnResult();
	}

	private static int resetThroughActuator(ConfigurableApplicationContext gateway, String keyId) {
		String port = gateway.getEnvironment().getProperty("local.management.port");
		return WebTestClient.bindToServer(new ReactorClientHttpConnector(HttpClient.create()))
			.baseUrl("http://127.0.0.1:" + port)
			.build()
			.delete()
			.uri("/actuator/keypools/test/" + keyId)
			.header("Authorization", "Bearer " + ADMIN_TOKEN)
			.exchange()
			.expectBody()
			.returnResult()
			.getStatus()
			.value();
	}

	private static void assertServedBy(EntityExchangeResult<byte[]> result, String keyId) {
		assertThat(result.getStatus().value()).isEqualTo(200);
		assertThat(result.getResponseHeaders().getFirst("X-Keypool-Key")).isEqualTo(keyId);
	}

	private static List<String> secretsSeen() {
		return upstream.takeAll().stream().map((request) -> request.getHeaders().get("x-api-key")).toList();
	}

}
