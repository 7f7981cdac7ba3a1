package dev.keypool.state;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.keypool.KeypoolGatewayApplication;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyStatus;
import dev.keypool.support.UpstreamStub;
import reactor.netty.http.client.HttpClient;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * Gateways (whole applications, each with its own Redis connections) on a Redis topology
 * given as {@code spring.data.redis.*} properties, for the Cluster, Sentinel and TLS tests.
 */
final class RedisGateways {

	private static final Pattern STORE_UP = Pattern.compile("(?m)^keypool_state_store_up(?:\\{[^}]*\\})? (\\S+)$");

	private RedisGateways() {
	}

	/**
	 * Starts one gateway with {@code keypool.state.store=redis}, the Redis connection
	 * properties and the pools, clients and routes given, all as arguments (they win over
	 * application.yaml as a deployment's settings would).
	 */
	static Gateway start(Map<String, String> redis, Map<String, String> keypool, UpstreamStub upstream) {
		Map<String, String> properties = new LinkedHashMap<>();
		properties.put("server.port", "0");
		properties.put("management.server.port", "0");
		properties.put("spring.main.banner-mode", "off");
		properties.put("keypool.state.store", "redis");
		properties.put("spring.data.redis.timeout", "500ms");
		properties.putAll(redis);
		properties.putAll(keypool);
		String[] args = properties.entrySet()
			.stream()
			.map((property) -> "--" + property.getKey() + "=" + property.getValue())
			.toArray(String[]::new);
		return new Gateway(new SpringApplicationBuilder(KeypoolGatewayApplication.class).run(args));
	}

	static void close(Gateway... gateways) {
		for (Gateway gateway : gateways) {
			if (gateway != null) {
				gateway.context().close();
			}
		}
	}

	record Gateway(ConfigurableApplicationContext context) {

		KeyPool pool(String name) {
			return this.context.getBean(KeyPools.class).get(name).orElseThrow();
		}

		KeyStatus status(String pool, String keyId) {
			KeyPool keyPool = pool(pool);
			return keyPool.status(keyPool.key(keyId).orElseThrow());
		}

		/** One pooled request on {@code /v1/messages}; the body is read before returning. */
		EntityExchangeResult<byte[]> post(String token) {
			String port = this.context.getEnvironment().getProperty("local.server.port");
			return WebTestClient.bindToServer(new ReactorClientHttpConnector(HttpClient.create()))
				.baseUrl("http://127.0.0.1:" + port)
				.responseTimeout(Duration.ofSeconds(20))
				.build()
				.post()
				.uri("/v1/messages")
				.header("x-api-key", token)
				.header("anthropic-version", "2023-06-01")
				.contentType(MediaType.APPLICATION_JSON)
				.bodyValue("{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":16,\"messages\":[]}"
					.getBytes(StandardCharsets.UTF_8))
				.exchange()
				.expectBody()
				.returnResult();
		}

		String management(String path) {
			String port = this.context.getEnvironment().getProperty("local.management.port");
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

		/** {@code keypool_state_store_up} as Prometheus scrapes it. */
		double stateStoreUp() {
			Matcher matcher = STORE_UP.matcher(management("/actuator/prometheus"));
			if (!matcher.find()) {
				throw new AssertionError("no keypool_state_store_up in the scrape");
			}
			return Double.parseDouble(matcher.group(1));
		}

	}

}
