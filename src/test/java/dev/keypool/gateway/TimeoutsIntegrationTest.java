package dev.keypool.gateway;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.SignalType;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

import dev.keypool.support.GatewayTestProperties;
import dev.keypool.support.RawHttp;
import dev.keypool.support.RawHttp.Response;
import dev.keypool.support.ScriptedUpstream;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code keypool.request-body-timeout} and {@code keypool.stream-idle-timeout} over real
 * sockets, with timeouts of a few hundred milliseconds: a body that stalls or trickles gets a
 * 408 and nothing (or only an aborted request) upstream; an upstream that sends JSON headers
 * and then nothing gets the caller a 504, or, once bytes were relayed, an ended connection.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class TimeoutsIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-timeouts-0001";

	static final String OWN_KEY = "sk-ant-callers-own-key-timeouts";

	static final ScriptedUpstream upstream = new ScriptedUpstream();

	/** A BYOK upstream that records how each request body ended: aborted or complete. */
	static final AtomicInteger started = new AtomicInteger();

	static final AtomicInteger aborted = new AtomicInteger();

	static final AtomicInteger completed = new AtomicInteger();

	static final DisposableServer recording = HttpServer.create()
		.host("127.0.0.1")
		.port(0)
		.handle((request, response) -> {
			started.incrementAndGet();
			return request.receive()
				.then()
				.doFinally((signal) -> ((signal == SignalType.ON_COMPLETE) ? completed : aborted).incrementAndGet())
				.then(response.status(200).sendString(Mono.just("{}")).then());
		})
		.bindNow();

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.set("keypool.request-body-timeout", "300ms")
			.set("keypool.stream-idle-timeout", "500ms")
			.client("team-a", CLIENT_TOKEN)
			.pool("main", "k0", "sk-timeouts-pool-secret-0001")
			.pool("byok", "b0", "sk-timeouts-byok-secret-0001")
			.route("byok", () -> "http://127.0.0.1:" + recording.port(), "/byok/**", "KeyFailover=byok")
			.route("main", upstream::url, "/v1/**", "KeyFailover=main");
	}

	@LocalServerPort
	int port;

	@Autowired
	BufferBudget budget;

	@BeforeEach
	void reset() {
		upstream.reset();
		started.set(0);
		aborted.set(0);
		completed.set(0);
	}

	@AfterAll
	static void stop() {
		upstream.close();
		recording.disposeNow();
	}

	@Test
	void aPooledBodyThatStopsGets408InTheProvidersShapeAndNothingGoesUpstream() {
		long start = System.nanoTime();
		Response response = RawHttp.stall(this.port, "POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
				+ "Content-Type: application/json\r\nx-api-key: " + CLIENT_TOKEN + "\r\nContent-Length: 100",
				"{\"model\":".getBytes(StandardCharsets.UTF_8));

		assertThat(response.status()).isEqualTo(408);
		assertThat(response.headers()).containsEntry("content-type", "application/json")
			.containsEntry("connection", "close");
		assertThat(response.body()).isEqualTo("{\"type\":\"error\",\"error\":{\"type\":\"timeout_error\","
				+ "\"message\":\"request body did not arrive within 300ms\"}}");
		assertThat(millisSince(start)).isLessThan(5_000);
		assertThat(upstream.received()).isEmpty();
		await().untilAsserted(() -> assertThat(this.budget.used()).isZero());
	}

	@Test
	void aPooledBodyTrickledAByteAtATimeIsCutAtTheTimeoutNotWhenItIdles() {
		byte[] body = RawHttp.jsonBody(200);
		long millis = RawHttp.millisUntilServerClosesWhileTrickling(this.port, "POST /v1/messages HTTP/1.1\r\n"
				+ "Host: x\r\nContent-Type: application/json\r\nx-api-key: " + CLIENT_TOKEN + "\r\nContent-Length: "
				+ body.length, body, 50, 8_000);

		// 200 bytes 50 ms apart take 10 s; never 300 ms without a byte
		assertThat(millis).isBetween(250L, 5_000L);
		assertThat(upstream.received()).isEmpty();
	}

	@Test
	void aByokBodyThatStopsGets408AndItsUpstreamRequestIsAborted() {
		Response response = RawHttp.stall(this.port, "POST /byok/v1/messages HTTP/1.1\r\nHost: x\r\n"
				+ "Content-Type: application/json\r\nx-api-key: " + OWN_KEY + "\r\nContent-Length: 100",
				"{\"model\":".getBytes(StandardCharsets.UTF_8));

		assertThat(response.status()).isEqualTo(408);
		assertThat(response.body()).contains("\"type\":\"timeout_error\"");
		await().untilAsserted(() -> assertThat(aborted.get()).isEqualTo(started.get()));
		assertThat(completed.get()).isZero();
	}

	@Test
	void jsonHeadersAndThenNothingGet504InTheProvidersShapeWithinTheIdleTimeout() {
		upstream.then((request, response) -> response.status(200)
			.header("Content-Type", "application/json")
			.sendHeaders()
			.then(Mono.never()));

		long start = System.nanoTime();
		Response response = RawHttp.exchange(this.port, "POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
				+ "Content-Type: application/json\r\nx-api-key: " + CLIENT_TOKEN, "{}".getBytes(StandardCharsets.UTF_8));

		assertThat(response.status()).isEqualTo(504);
		assertThat(response.body()).isEqualTo("{\"type\":\"error\",\"error\":{\"type\":\"api_error\","
				+ "\"message\":\"upstream response sent nothing for 500ms\"}}");
		assertThat(millisSince(start)).isBetween(400L, 5_000L);
	}

	@Test
	void jsonThatStopsHalfwayEndsTheConnectionWithinTheIdleTimeout() {
		upstream.then((request, response) -> response.status(200)
			.header("Content-Type", "application/json")
			.send(Flux.just(Unpooled.copiedBuffer("{\"type\":\"message\",", StandardCharsets.UTF_8))
				.concatWith(Mono.never())));

		long start = System.nanoTime();
		Response response = RawHttp.exchange(this.port, "POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
				+ "Content-Type: application/json\r\nx-api-key: " + CLIENT_TOKEN, "{}".getBytes(StandardCharsets.UTF_8));

		assertThat(response.status()).isEqualTo(200);
		assertThat(response.body()).contains("{\"type\":\"message\",").doesNotEndWith("0\r\n\r\n");
		assertThat(millisSince(start)).isBetween(400L, 5_000L);
	}

	private static long millisSince(long start) {
		return (System.nanoTime() - start) / 1_000_000;
	}

}
