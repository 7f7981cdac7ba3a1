package dev.keypool.budget;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.netty.http.client.HttpClient;

import dev.keypool.KeypoolGatewayApplication;
import dev.keypool.state.RedisServerSupport;
import dev.keypool.support.UpstreamStub;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two gateway instances (two application contexts) on one real Redis with
 * {@code keypool.state.store=redis}: a client's budget is one budget across both.
 */
class TwoGatewaysShareOneBudgetIntegrationTest {

	@RegisterExtension
	static final RedisServerSupport redis = new RedisServerSupport();

	static final UpstreamStub upstream = new UpstreamStub();

	/** Charged 120 tokens. */
	static final String MESSAGE = "{\"type\":\"message\",\"model\":\"claude-haiku-4-5\",\"usage\":{\"input_tokens\":50,"
			+ "\"cache_creation_input_tokens\":10,\"cache_read_input_tokens\":1000,\"output_tokens\":60}}";

	static ConfigurableApplicationContext gatewayA;

	static ConfigurableApplicationContext gatewayB;

	@BeforeAll
	static void startGateways() {
		gatewayA = startGateway(redis, upstream);
		gatewayB = startGateway(redis, upstream);
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
	void emptyBudgets() {
		redis.flushAll();
		upstream.reset();
		upstream.answerByDefault(UpstreamStub.json(200, MESSAGE));
	}

	@Test
	void requestsOnBothGatewaysCountAgainstOneRequestsPerMinuteBudget() {
		assertThat(post(gatewayA, "token-rpm-0001").getStatus().value()).isEqualTo(200);
		assertThat(post(gatewayB, "token-rpm-0001").getStatus().value()).isEqualTo(200);
		assertThat(post(gatewayA, "token-rpm-0001").getStatus().value()).isEqualTo(200);

		EntityExchangeResult<byte[]> refused = post(gatewayB, "token-rpm-0001");

		assertThat(refused.getStatus().value()).isEqualTo(429);
		assertThat(Integer.parseInt(refused.getResponseHeaders().getFirst("Retry-After"))).isBetween(59, 60);
		assertThat(upstream.takeAll()).hasSize(3);
	}

	@Test
	void tokensChargedOnOneGatewayTripTheLimitOnTheOther() {
		assertThat(post(gatewayA, "token-tpm-0001").getStatus().value()).isEqualTo(200);
		await().atMost(Duration.ofSeconds(5))
			.until(() -> management(gatewayB, "/actuator/keypoolclients").contains("\"tokens\":120"));

		EntityExchangeResult<byte[]> refused = post(gatewayB, "token-tpm-0001");

		assertThat(refused.getStatus().value()).isEqualTo(429);
		assertThat(new String(refused.getResponseBody(), StandardCharsets.UTF_8)).contains("client budget exceeded");
		assertThat(Integer.parseInt(refused.getResponseHeaders().getFirst("Retry-After"))).isBetween(1, 60);
	}

	/**
	 * Redis loses its data under a live budget: the gateway that charged the client writes its
	 * charges back on its next check, so the client is still over its limit, on both gateways.
	 */
	@Test
	void aFlushedRedisDoesNotResetABudgetToZero() {
		assertThat(post(gatewayA, "token-flush-0001").getStatus().value()).isEqualTo(200);
		await().atMost(Duration.ofSeconds(5)).until(() -> flushClientTokens(gatewayB) == 120);

		redis.flushAll();

		EntityExchangeResult<byte[]> refused = post(gatewayA, "token-flush-0001");
		assertThat(refused.getStatus().value()).isEqualTo(429);
		assertThat(flushClientTokens(gatewayB)).isEqualTo(120);
		assertThat(post(gatewayB, "token-flush-0001").getStatus().value()).isEqualTo(429);
		assertThat(upstream.takeAll()).hasSize(1);
	}

	/** team-flush's tokens this minute, as the gateway's endpoint shows them (-1 when not shown). */
	private static long flushClientTokens(ConfigurableApplicationContext gateway) {
		String body = management(gateway, "/actuator/keypoolclients");
		int client = body.indexOf("\"client\":\"team-flush\"");
		int minute = body.indexOf("\"minute\":{\"requests\":null,\"tokens\":", client);
		if (client < 0 || minute < 0) {
			return -1;
		}
		int from = minute + "\"minute\":{\"requests\":null,\"tokens\":".length();
		int to = from;
		while (to < body.length() && Character.isDigit(body.charAt(to))) {
			to++;
		}
		return Long.parseLong(body.substring(from, to));
	}

	static ConfigurableApplicationContext startGateway(RedisServerSupport redis, UpstreamStub upstream) {
		Map<String, Object> properties = new LinkedHashMap<>();
		properties.put("server.port", "0");
		properties.put("management.server.port", "0");
		properties.put("spring.main.banner-mode", "off");
		properties.put("keypool.state.store", "redis");
		properties.put("spring.data.redis.host", redis.host());
		properties.put("spring.data.redis.port", Integer.toString(redis.port()));
		properties.put("spring.data.redis.timeout", "500ms");
		properties.put("keypool.clients[0].id", "team-rpm");
		properties.put("keypool.clients[0].token", "token-rpm-0001");
		properties.put("keypool.clients[0].limits.requests-per-minute", "3");
		properties.put("keypool.clients[1].id", "team-tpm");
		properties.put("keypool.clients[1].token", "token-tpm-0001");
		properties.put("keypool.clients[1].limits.tokens-per-minute", "100");
		properties.put("keypool.clients[2].id", "team-flush");
		properties.put("keypool.clients[2].token", "token-flush-0001");
		properties.put("keypool.clients[2].limits.tokens-per-minute", "100");
		properties.put("keypool.pools.test.keys[0].id", "k0");
		properties.put("keypool.pools.test.keys[0].secret", "sk-budget-secret-0-abcdefgh");
		properties.put("spring.cloud.gateway.server.webflux.routes[0].id", "test");
		properties.put("spring.cloud.gateway.server.webflux.routes[0].uri", upstream.url());
		properties.put("spring.cloud.gateway.server.webflux.routes[0].predicates[0]", "Path=/v1/**");
		properties.put("spring.cloud.gateway.server.webflux.routes[0].filters[0]", "KeyFailover=test");
		String[] args = properties.entrySet()
			.stream()
			.map((property) -> "--" + property.getKey() + "=" + property.getValue())
			.toArray(String[]::new);
		return new SpringApplicationBuilder(KeypoolGatewayApplication.class).run(args);
	}

	static EntityExchangeResult<byte[]> post(ConfigurableApplicationContext gateway, String token) {
		String port = gateway.getEnvironment().getProperty("local.server.port");
		return WebTestClient.bindToServer(new ReactorClientHttpConnector(HttpClient.create()))
			.baseUrl("http://127.0.0.1:" + port)
			.responseTimeout(Duration.ofSeconds(20))
			.build()
			.post()
			.uri("/v1/messages")
			.header("x-api-key", token)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"model\":\"claude-haiku-4-5\"}")
			.exchange()
			.expectBody()
			.returnResult();
	}

	private static String management(ConfigurableApplicationContext gateway, String path) {
		String port = gateway.getEnvironment().getProperty("local.management.port");
		byte[] body = WebTestClient.bindToServer(new ReactorClientHttpConnector(HttpClient.create()))
			.baseUrl("http://127.0.0.1:" + port)
			.build()
			.get()
			.uri(path)
			.exchange()
			.expectBody()
			.returnResult()
			.getResponseBody();
		return (body != null) ? new String(body, StandardCharsets.UTF_8) : "";
	}

}
