package dev.keypool.gateway;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import reactor.netty.http.client.HttpClient;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyStatus;
import dev.keypool.support.GatewayTestProperties;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Failures that are not a key's fault: no mark, no failover, a provider-shaped error.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class UpstreamFailureIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-failures-0001";

	static final MockWebServer slowUpstream = new MockWebServer();

	static final int closedPort = closedPort();

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) throws IOException {
		slowUpstream.start();
		GatewayTestProperties.on(registry)
			.client("team-f", CLIENT_TOKEN)
			.pool("unreachable", "k0", "sk-unreachable-0", "k1", "sk-unreachable-1")
			.pool("slow", "k0", "sk-slow-0", "k1", "sk-slow-1")
			.route("unreachable", () -> "http://127.0.0.1:" + closedPort, "/unreachable/v1/**", "StripPrefix=1",
					"KeyFailover=unreachable")
			.route("slow", () -> "http://127.0.0.1:" + slowUpstream.getPort(), "/slow/v1/**", "StripPrefix=1",
					"KeyFailover=slow")
			.set("spring.cloud.gateway.server.webflux.routes[1].metadata.response-timeout", "300");
	}

	@LocalServerPort
	int port;

	@Autowired
	KeyPools pools;

	@AfterAll
	static void stop() {
		slowUpstream.close();
	}

	@Test
	void unreachableUpstreamIs502WithoutMarkingOrTryingOtherKeys() {
		post("/unreachable/v1/messages").expectStatus()
			.isEqualTo(502)
			.expectHeader()
			.valueEquals("X-Keypool-Attempts", "1")
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo("error")
			.jsonPath("$.error.type")
			.isEqualTo("api_error")
			.jsonPath("$.error.message")
			.isEqualTo("upstream connection failed");

		assertAllAvailable("unreachable");
	}

	@Test
	void upstreamSlowerThanTheResponseTimeoutIs504WithoutFailover() throws InterruptedException {
		slowUpstream.enqueue(new MockResponse.Builder().code(200)
			.headersDelay(5, TimeUnit.SECONDS)
			.body("{}")
			.build());

		post("/slow/v1/messages").expectStatus()
			.isEqualTo(504)
			.expectBody()
			.jsonPath("$.error.type")
			.isEqualTo("api_error")
			.jsonPath("$.error.message")
			.isEqualTo("upstream did not respond in time");

		assertThat(slowUpstream.takeRequest(1, TimeUnit.SECONDS)).isNotNull();
		assertThat(slowUpstream.takeRequest(100, TimeUnit.MILLISECONDS)).as("no second key tried").isNull();
		assertAllAvailable("slow");
	}

	private void assertAllAvailable(String poolName) {
		KeyPool pool = this.pools.get(poolName).orElseThrow();
		assertThat(pool.keys()).allSatisfy((key) -> assertThat(pool.status(key)).isEqualTo(KeyStatus.AVAILABLE));
	}

	private WebTestClient.ResponseSpec post(String path) {
		return WebTestClient.bindToServer(new ReactorClientHttpConnector(HttpClient.create()))
			.baseUrl("http://127.0.0.1:" + this.port)
			.responseTimeout(Duration.ofSeconds(20))
			.build()
			.post()
			.uri(path)
			.header("x-api-key", CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{}")
			.exchange();
	}

	/** A port nothing listens on: bound once to learn a free number, then released. */
	private static int closedPort() {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
		catch (IOException ex) {
			throw new IllegalStateException(ex);
		}
	}

}
