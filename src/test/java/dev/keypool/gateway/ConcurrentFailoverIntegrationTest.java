package dev.keypool.gateway;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import tools.jackson.databind.ObjectMapper;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.support.GatewayTestProperties;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hundreds of parallel pooled requests while keys are rate-limited, disabled and reset under
 * them: every response is a success or a well-formed error, none is lost, none hangs.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class ConcurrentFailoverIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-load-0001";

	static final int REQUESTS = 600;

	static final MockWebServer upstream = new MockWebServer();

	static final Map<String, AtomicInteger> perKey = new ConcurrentHashMap<>();

	static {
		upstream.setDispatcher(new Dispatcher() {
			@Override
			public MockResponse dispatch(RecordedRequest request) {
				String key = request.getHeaders().get("x-api-key");
				int n = perKey.computeIfAbsent(key, (k) -> new AtomicInteger()).incrementAndGet();
				return switch (key) {
					// k0 is rate-limited on every other request it gets, k1 revoked now and then
					case "sk-load-0" -> (n % 2 == 0) ? json(429, "{}", "1") : json(200, "{\"key\":\"k0\"}", null);
					case "sk-load-1" -> (n % 5 == 0) ? json(401, "{}", null) : json(200, "{\"key\":\"k1\"}", null);
					default -> json(200, "{\"key\":\"k2\"}", null);
				};
			}
		});
		try {
			upstream.start();
		}
		catch (java.io.IOException ex) {
			throw new IllegalStateException(ex);
		}
	}

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.client("load", CLIENT_TOKEN)
			.pool("load", "k0", "sk-load-0", "k1", "sk-load-1", "k2", "sk-load-2")
			.route("load", () -> "http://127.0.0.1:" + upstream.getPort(), "/v1/**", "KeyFailover=load");
	}

	@LocalServerPort
	int port;

	@Autowired
	KeyPools pools;

	@AfterAll
	static void stopUpstream() {
		upstream.close();
	}

	@Test
	void parallelRequestsWhileKeysFlipAllEndInASuccessOrAWellFormedError() {
		KeyPool pool = this.pools.get("load").orElseThrow();
		WebClient client = WebClient.builder()
			.clientConnector(new ReactorClientHttpConnector(HttpClient.create()))
			.baseUrl("http://127.0.0.1:" + this.port)
			.build();
		AtomicInteger completed = new AtomicInteger();

		List<ResponseEntity<String>> responses = Flux.range(0, REQUESTS)
			.flatMap((i) -> client.post()
				.uri("/v1/messages")
				.header("x-api-key", CLIENT_TOKEN)
				.contentType(MediaType.APPLICATION_JSON)
				.bodyValue("{\"n\":" + i + "}")
				.exchangeToMono((response) -> response.toEntity(String.class))
				.doOnNext((response) -> {
					// flip the keys back under the running requests every 25 completions
					if (completed.incrementAndGet() % 25 == 0) {
						pool.keys().forEach(pool::reset);
					}
				}), 64)
			.collectList()
			.block(Duration.ofSeconds(60));

		assertThat(responses).hasSize(REQUESTS);
		ObjectMapper json = new ObjectMapper();
		assertThat(responses).allSatisfy((response) -> {
			int status = response.getStatusCode().value();
			if (status == 200) {
				String key = response.getHeaders().getFirst("X-Keypool-Key");
				assertThat(key).isIn("k0", "k1", "k2");
				assertThat(json.readTree(response.getBody()).get("key").asText()).isEqualTo(key);
			}
			else {
				assertThat(status).isIn(429, 502);
				assertThat(json.readTree(response.getBody()).get("type").asText()).isEqualTo("error");
			}
		});
		assertThat(responses).filteredOn((response) -> response.getStatusCode().value() == 200).hasSizeGreaterThan(REQUESTS / 2);
	}

	private static MockResponse json(int status, String body, String retryAfter) {
		MockResponse.Builder builder = new MockResponse.Builder().code(status)
			.addHeader("Content-Type", "application/json")
			.body(body);
		if (retryAfter != null) {
			builder.addHeader("retry-after", retryAfter);
		}
		return builder.build();
	}

}
