package dev.keypool.gateway;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

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
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code max-wait}: a request whose model class has no key left, but a key back soon, is held
 * on a timer and walks again; a caller that goes away ends its wait and leaves no timer.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		classes = { dev.keypool.KeypoolGatewayApplication.class, BoundedWaitIntegrationTest.TestClock.class })
class BoundedWaitIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-team-a-0001";

	static final Instant START = Instant.parse("2026-01-01T00:00:00Z");

	static final UpstreamStub upstream = new UpstreamStub();

	static final MutableClock clock = new MutableClock(START);

	static final String OPUS = "{\"model\":\"claude-opus-4-7\",\"max_tokens\":10}";

	static final int HELD = 1000;

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.client("team-a", CLIENT_TOKEN)
			.pool("wait", "w0", "sk-w0-secret-abcdefgh")
			.set("keypool.pools.wait.max-wait", "60s")
			.set("keypool.pools.wait.max-waiting", Integer.toString(HELD))
			.pool("tight", "t0", "sk-t0-secret-abcdefgh")
			.set("keypool.pools.tight.max-wait", "60")
			.set("keypool.pools.tight.max-waiting", "1")
			.route("tight", upstream::url, "/tight/**", "StripPrefix=1", "KeyFailover=tight")
			.route("wait", upstream::url, "/v1/**", "KeyFailover=wait");
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

	@Autowired
	KeyFailoverGatewayFilterFactory filters;

	@Autowired
	MeterRegistry registry;

	HttpClient client;

	@BeforeEach
	void setUp() {
		upstream.reset();
		clock.set(START);
		for (KeyPool pool : this.pools.all()) {
			pool.keys().forEach(pool::reset);
		}
		this.client = HttpClient.create(ConnectionProvider.newConnection())
			.baseUrl("http://127.0.0.1:" + this.port)
			.headers((headers) -> headers.set("x-api-key", CLIENT_TOKEN).set("content-type", "application/json"));
	}

	@AfterAll
	static void stopUpstream() {
		upstream.close();
	}

	@Test
	void maxWaitTurnsAShortExhaustionIntoASuccess() throws Exception {
		KeyPool pool = this.pools.get("wait").orElseThrow();
		double served = waits("wait", "served");
		upstream.enqueue(new mockwebserver3.MockResponse.Builder().code(429)
			.addHeader("retry-after-ms", "300")
			.addHeader("content-type", "application/json")
			.body("{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}")
			.build());

		CompletableFuture<Response> response = post("/v1/messages");
		awaitTrue(() -> pool.waiting() == 1);
		clock.advance(Duration.ofSeconds(1));

		Response result = response.get(10, TimeUnit.SECONDS);
		assertThat(result.status()).isEqualTo(200);
		assertThat(result.key()).isEqualTo("w0");
		assertThat(result.attempts()).isEqualTo("2");
		assertThat(waits("wait", "served")).isGreaterThan(served);
		assertThat(pool.waiting()).isZero();
	}

	@Test
	void heldRequestsCancelledAtOnceLeaveNoWaitAndNoTimerBehind() {
		KeyPool pool = this.pools.get("wait").orElseThrow();
		pool.coolDown(pool.keys().get(0), "opus", Duration.ofSeconds(30), 429);
		int timersBefore = this.filters.pendingWaitTimers();
		double cancelled = waits("wait", "cancelled");

		List<Disposable> callers = new ArrayList<>();
		for (int i = 0; i < HELD; i++) {
			callers.add(this.client.post()
				.uri("/v1/messages")
				.send(reactor.netty.ByteBufFlux.fromString(reactor.core.publisher.Mono.just(OPUS)))
				.responseSingle((head, body) -> body.asString())
				.subscribe());
		}
		awaitTrue(() -> pool.waiting() == HELD);
		awaitTrue(() -> this.filters.pendingWaitTimers() == timersBefore + HELD);

		callers.forEach(Disposable::dispose);

		awaitTrue(() -> pool.waiting() == 0);
		awaitTrue(() -> this.filters.pendingWaitTimers() == timersBefore);
		assertThat(waits("wait", "cancelled") - cancelled).isEqualTo(HELD);
		assertThat(upstream.takeAll()).as("held requests open no upstream connection").isEmpty();
	}

	@Test
	void beyondMaxWaitingARequestIsAnsweredAtOnce() throws Exception {
		KeyPool pool = this.pools.get("tight").orElseThrow();
		pool.coolDown(pool.keys().get(0), "opus", Duration.ofSeconds(30), 429);
		double rejected = waits("tight", "rejected");
		CompletableFuture<Response> held = post("/tight/v1/messages");
		awaitTrue(() -> pool.waiting() == 1);

		Response second = post("/tight/v1/messages").get(10, TimeUnit.SECONDS);

		assertThat(second.status()).isEqualTo(429);
		assertThat(second.retryAfter()).isEqualTo("30");
		assertThat(waits("tight", "rejected")).isEqualTo(rejected + 1);
		held.cancel(true);
		pool.reset(pool.keys().get(0));
	}

	@Test
	void aKeyBackLaterThanMaxWaitIsNotWaitedFor() throws Exception {
		KeyPool pool = this.pools.get("wait").orElseThrow();
		pool.coolDown(pool.keys().get(0), "opus", Duration.ofSeconds(90), 429);

		Response response = post("/v1/messages").get(10, TimeUnit.SECONDS);

		assertThat(response.status()).isEqualTo(429);
		assertThat(response.retryAfter()).isEqualTo("90");
		assertThat(pool.waiting()).isZero();
	}

	private CompletableFuture<Response> post(String path) {
		return this.client.post()
			.uri(path)
			.send(reactor.netty.ByteBufFlux.fromString(reactor.core.publisher.Mono.just(OPUS)))
			.responseSingle((head, body) -> body.asString()
				.defaultIfEmpty("")
				.map((text) -> new Response(head.status().code(), head.responseHeaders().get("X-Keypool-Key"),
						head.responseHeaders().get("X-Keypool-Attempts"), head.responseHeaders().get("Retry-After"))))
			.toFuture();
	}

	private double waits(String pool, String outcome) {
		return this.registry.get("keypool.waits").tags("pool", pool, "outcome", outcome).counter().count();
	}

	/** Polls for a condition the gateway reaches on its own; never waits for a cooldown. */
	private static void awaitTrue(BooleanSupplier condition) {
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
		while (!condition.getAsBoolean()) {
			assertThat(System.nanoTime()).as("condition not reached in 30s").isLessThan(deadline);
			try {
				Thread.sleep(10);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				throw new IllegalStateException(ex);
			}
		}
	}

	record Response(int status, String key, String attempts, String retryAfter) {
	}

}
