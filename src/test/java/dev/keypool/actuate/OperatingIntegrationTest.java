package dev.keypool.actuate;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import reactor.netty.http.client.HttpClient;

import dev.keypool.KeypoolGatewayApplication;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.support.GatewayTestProperties;
import dev.keypool.support.MutableClock;
import dev.keypool.support.UpstreamStub;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * The gateway as the operating tests run it, one Spring context shared by every subclass
 * (they declare no configuration of their own): pool {@code test} with keys {@code k0..k2}
 * routed to a real local upstream, pool {@code spare} ({@code s0}) that no request ever
 * uses, client {@code team-a}, an admin token, and actuator on its own management port.
 * Each test starts with every key of {@code test} reset, the clock at {@link #START} and an
 * empty upstream queue.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		classes = { KeypoolGatewayApplication.class, OperatingIntegrationTest.TestClock.class })
public abstract class OperatingIntegrationTest {

	public static final Instant START = Instant.parse("2026-01-01T00:00:00Z");

	public static final String CLIENT_TOKEN = "client-token-team-a-7f3c9d";

	public static final String ADMIN_TOKEN = "admin-token-5b8e2a41";

	public static final List<String> SECRETS = List.of("sk-test-secret-0-abcdefgh", "sk-test-secret-1-ijklmnop",
			"sk-test-secret-2-qrstuvwx", "sk-spare-secret-0-yzabcdef");

	/** Lives as long as the shared context, so it is not closed after one test class. */
	protected static final UpstreamStub upstream = new UpstreamStub();

	protected static final MutableClock clock = new MutableClock(START);

	@DynamicPropertySource
	static void properties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.set("keypool.admin.token", ADMIN_TOKEN)
			.client("team-a", CLIENT_TOKEN)
			.pool("test", "k0", SECRETS.get(0), "k1", SECRETS.get(1), "k2", SECRETS.get(2))
			.pool("spare", "s0", SECRETS.get(3))
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
	protected int port;

	@LocalManagementPort
	protected int managementPort;

	@Autowired
	protected KeyPools pools;

	/** The public port. */
	protected WebTestClient gateway;

	/** The management port. */
	protected WebTestClient management;

	@BeforeEach
	void resetGatewayState() {
		upstream.reset();
		clock.set(START);
		KeyPool pool = this.pools.get("test").orElseThrow();
		pool.keys().forEach(pool::reset);
		this.gateway = client(this.port);
		this.management = client(this.managementPort);
	}

	protected static WebTestClient client(int port) {
		return WebTestClient.bindToServer(new ReactorClientHttpConnector(HttpClient.create()))
			.baseUrl("http://127.0.0.1:" + port)
			.responseTimeout(Duration.ofSeconds(20))
			.build();
	}

	/** A pooled {@code POST /v1/messages} as team-a; returns the status. */
	protected int postPooled() {
		return post("x-api-key", CLIENT_TOKEN);
	}

	/** A pooled {@code POST /v1/messages} as team-a with this body; returns the status. */
	protected int postPooled(String body) {
		return post("x-api-key", CLIENT_TOKEN, body);
	}

	/** A request with the caller's own provider key; returns the status. */
	protected int postByok(String ownKey) {
		return post("Authorization", "Bearer " + ownKey);
	}

	private int post(String header, String credential) {
		// a family named from the start: its cooldowns keep one scope whatever other tests ran first
		return post(header, credential, "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":1}");
	}

	private int post(String header, String credential, String body) {
		return this.gateway.post()
			.uri("/v1/messages")
			.header(header, credential)
			.header("Content-Type", "application/json")
			.bodyValue(body)
			.exchange()
			.expectBody()
			.returnResult()
			.getStatus()
			.value();
	}

	/** The body of a GET on the management port, asserting 200. */
	protected String read(String path) {
		byte[] body = this.management.get()
			.uri(path)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.returnResult()
			.getResponseBody();
		return (body != null) ? new String(body, java.nio.charset.StandardCharsets.UTF_8) : "";
	}

}
