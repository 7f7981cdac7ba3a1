package dev.keypool.demo;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.netty.http.client.HttpClient;

import dev.keypool.KeypoolGatewayApplication;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's first command: the demo profile, as shipped, shows a failover to a newcomer.
 */
class DemoProfileIntegrationTest {

	static ConfigurableApplicationContext context;

	static WebClient client;

	@BeforeAll
	static void startDemo() throws IOException {
		int port;
		try (ServerSocket socket = new ServerSocket(0)) {
			port = socket.getLocalPort();
		}
		// The demo route points at ${server.port}, so the port must be known before startup.
		context = new SpringApplicationBuilder(KeypoolGatewayApplication.class).profiles("demo")
			.run("--server.port=" + port, "--management.server.port=0", "--keypool.demo.delta-delay=0ms");
		client = WebClient.builder()
			.clientConnector(new ReactorClientHttpConnector(HttpClient.create()))
			.baseUrl("http://127.0.0.1:" + port)
			.build();
	}

	/** Each test starts from a fresh demo: counters of the simulated upstream and key states. */
	@BeforeEach
	void resetDemo() {
		context.getBean(SimulatedAnthropicApi.class).reset();
		KeyPool pool = context.getBean(KeyPools.class).get("anthropic").orElseThrow();
		pool.keys().forEach(pool::reset);
	}

	@AfterAll
	static void stopDemo() {
		context.close();
	}

	@Test
	void everyThirdRequestFailsOverPastTheRevokedKeyToTheBackup() {
		List<String> servedBy = new ArrayList<>();
		List<String> attempts = new ArrayList<>();
		for (int i = 0; i < 4; i++) {
			ResponseEntity<String> response = client.post()
				.uri("/v1/messages")
				.header("anthropic-version", "2023-06-01")
				.contentType(MediaType.APPLICATION_JSON)
				.bodyValue("{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":32,"
						+ "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
				.retrieve()
				.toEntity(String.class)
				.block(Duration.ofSeconds(20));
			assertThat(response.getStatusCode().value()).isEqualTo(200);
			assertThat(response.getBody()).contains("\"type\":\"message\"");
			servedBy.add(response.getHeaders().getFirst("X-Keypool-Key"));
			attempts.add(response.getHeaders().getFirst("X-Keypool-Attempts"));
		}

		assertThat(servedBy).containsExactly("primary", "primary", "backup", "backup");
		assertThat(attempts).containsExactly("1", "1", "3", "1");
	}

	@Test
	void theDemoClientTokenIsPooledAndNeverReachesTheUpstream() {
		ResponseEntity<String> response = client.post()
			.uri("/v1/messages")
			.header("anthropic-version", "2023-06-01")
			.header("Authorization", "Bearer demo-client-token")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":32,\"stream\":true,"
					+ "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
			.retrieve()
			.toEntity(String.class)
			.block(Duration.ofSeconds(20));

		assertThat(response.getHeaders().getContentType().isCompatibleWith(MediaType.TEXT_EVENT_STREAM)).isTrue();
		assertThat(response.getHeaders().getFirst("X-Keypool-Key")).isNotBlank();
		assertThat(response.getBody()).contains("event: message_stop");
		SimulatedAnthropicApi api = context.getBean(SimulatedAnthropicApi.class);
		assertThat(api.recordedRequests()).allSatisfy(
				(request) -> assertThat(request.headers().toString()).doesNotContain("demo-client-token"));
	}

}
