package dev.keypool.gateway;

import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import io.micrometer.core.instrument.LongTaskTimer;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.DisposableServer;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.server.HttpServer;
import reactor.netty.resources.ConnectionProvider;

import dev.keypool.support.GatewayTestProperties;
import dev.keypool.support.RawHttp;
import dev.keypool.support.RawHttp.Response;
import dev.keypool.support.ScriptedUpstream;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The gateway tried the way an attacker or an unlucky operator would: every request here
 * either gets a clear provider-shaped refusal with nothing sent upstream, or is served without
 * leaking a client token, memory, an observation or a stuck connection.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ExtendWith(OutputCaptureExtension.class)
class AttackSweepIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-sweep-0001";

	static final String POOL_SECRET = "sk-sweep-pool-secret-0001";

	static final String OWN_KEY = "sk-ant-callers-own-key-0001";

	static final int MAX_BODY = 64 * 1024;

	static final ScriptedUpstream upstream = new ScriptedUpstream();

	/** Closes every connection before answering: what a crashing upstream or a reset proxy does. */
	static final DisposableServer resetting = HttpServer.create()
		.host("127.0.0.1")
		.port(0)
		.handle((request, response) -> {
			response.withConnection((connection) -> connection.channel().close());
			return Mono.never();
		})
		.bindNow();

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.set("keypool.max-request-body", MAX_BODY + "B")
			.set("keypool.max-buffered-bytes", "100KB")
			.set("keypool.stream-idle-timeout", "1s")
			.set("server.netty.idle-timeout", "1s")
			.client("team-a", CLIENT_TOKEN)
			.pool("main", "k0", POOL_SECRET)
			.pool("resets", "r0", "sk-sweep-resets-0001")
			.route("resets", () -> "http://127.0.0.1:" + resetting.port(), "/reset/**", "KeyFailover=resets")
			.route("plain", upstream::url, "/plain/**")
			.route("main", upstream::url, "/v1/**", "KeyFailover=main");
	}

	@LocalServerPort
	int port;

	@Autowired
	BufferBudget budget;

	@Autowired
	MeterRegistry meters;

	@BeforeEach
	void resetUpstream() {
		upstream.reset();
	}

	@AfterAll
	static void stopUpstreams() {
		upstream.close();
		resetting.disposeNow();
	}

	// --- client tokens never leave the gateway

	@Test
	void aClientTokenInAuthorizationBesideTheCallersOwnKeyNeverReachesTheUpstream() {
		answerOk();

		Response response = send("POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
				+ "x-api-key: " + OWN_KEY + "\r\nAuthorization: Bearer " + CLIENT_TOKEN, "{}");

		assertThat(response.status()).isEqualTo(200);
		ScriptedUpstream.Received received = upstream.received().get(0);
		assertThat(received.headers().getAll("x-api-key")).containsExactly(OWN_KEY);
		assertThat(received.headers().contains("Authorization")).isFalse();
		assertThat(received.headers().toString()).doesNotContain(CLIENT_TOKEN);
	}

	@ParameterizedTest
	@ValueSource(strings = { "x-api-key: " + OWN_KEY + ", " + CLIENT_TOKEN,
			"x-api-key: " + OWN_KEY + "\r\nx-api-key: " + CLIENT_TOKEN,
			"x-api-key: " + CLIENT_TOKEN + "\r\nx-api-key: " + CLIENT_TOKEN,
			"x-api-key: " + OWN_KEY + "\r\nAuthorization: " + CLIENT_TOKEN,
			"Authorization: Bearer " + CLIENT_TOKEN + ", Bearer x",
			"x-api-key: " + OWN_KEY + "\r\nAuthorization: Token " + CLIENT_TOKEN,
			"x-api-key: " + OWN_KEY + "\r\nAuthorization: Bearer x;" + CLIENT_TOKEN })
	void aClientTokenInsideAMergedOrMalformedCredentialHeaderIsRefusedAndNeverForwarded(String credentials) {
		answerOk();

		Response response = send("POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
				+ credentials, "{}");

		assertThat(response.status()).isEqualTo(401);
		assertThat(response.body()).startsWith("{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\"")
			.doesNotContain(CLIENT_TOKEN);
		assertThat(upstream.received()).isEmpty();
	}

	@ParameterizedTest
	@ValueSource(strings = { "POST /v1/messages HTTP/1.1", "POST /v1/messages HTTP/1.1\r\nHost: x\r\nHost: y",
			"POST /v1/messages HTTP/1.1\r\nHost: x\r\nhost: x" })
	void http11RequestsWithoutOneHostAreRefusedWithNothingSentUpstream(String head) {
		Response response = send(head + "\r\nContent-Type: application/json\r\nx-api-key: " + CLIENT_TOKEN, "{}");

		assertThat(response.status()).isEqualTo(400);
		assertThat(response.body()).contains("\"type\":\"invalid_request_error\"").contains("Host header");
		assertThat(upstream.received()).isEmpty();
	}

	@Test
	void anHttp10RequestWithoutHostIsServed() {
		answerOk();

		Response response = send("POST /v1/messages HTTP/1.0\r\nContent-Type: application/json\r\nx-api-key: "
				+ CLIENT_TOKEN, "{}");

		assertThat(response.status()).isEqualTo(200);
		assertThat(upstream.received().get(0).apiKey()).isEqualTo(POOL_SECRET);
	}

	@Test
	void aPooledCallerSendingItsOwnKeyInAuthorizationTooIsServedWithThePoolKeyOnly() {
		answerOk();

		Response response = send("POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
				+ "x-api-key: " + CLIENT_TOKEN + "\r\nAuthorization: Bearer " + OWN_KEY, "{}");

		assertThat(response.status()).isEqualTo(200);
		assertThat(response.headers()).containsEntry("x-keypool-key", "k0");
		ScriptedUpstream.Received received = upstream.received().get(0);
		assertThat(received.headers().getAll("x-api-key")).containsExactly(POOL_SECRET);
		assertThat(received.headers().contains("Authorization")).isFalse();
	}

	// --- nothing reaches another upstream path, method or protocol with a pool key

	@ParameterizedTest
	@ValueSource(strings = { "/v1/messages/../files", "/v1/messages/%2e%2e/files", "/v1/messages/%2E%2E/files",
			"/v1/messages/.%2e/files", "/v1/messages/..%2Ffiles", "/v1/messages/..%2ffiles", "/v1/messages/..;/files",
			"/v1/./messages", "/v1/messages/..%5Cfiles" })
	void pathsThatStepOutOfTheRouteAreRefusedWithNothingSentUpstream(String rawPath) {
		Response response = send("POST " + rawPath + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
				+ "x-api-key: " + CLIENT_TOKEN, "{}");

		assertThat(response.status()).isEqualTo(400);
		assertThat(response.headers()).containsEntry("content-type", "application/json");
		assertThat(response.body()).startsWith("{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\"");
		assertThat(upstream.received()).isEmpty();
	}

	@ParameterizedTest
	@ValueSource(strings = { "TRACE", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND" })
	void methodsTheProviderDoesNotUseGet405WithNothingSentUpstream(String method) {
		Response response = send(method + " /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: " + CLIENT_TOKEN, "");

		assertThat(response.status()).isEqualTo(405);
		assertThat(response.headers()).containsEntry("allow", "GET, POST, HEAD");
		assertThat(response.body()).contains("\"type\":\"invalid_request_error\"");
		assertThat(upstream.received()).isEmpty();
	}

	@Test
	void aWebSocketUpgradeIsRefusedWithNothingSentUpstream() {
		Response response = send("GET /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: " + CLIENT_TOKEN
				+ "\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13",
				"");

		assertThat(response.status()).isEqualTo(400);
		assertThat(response.body()).contains("protocol upgrades are not forwarded");
		assertThat(upstream.received()).isEmpty();
	}

	// --- bodies: limits for BYOK too, a shared budget for what is held

	@Test
	void anOversizedByokBodyWithContentLengthGets413WithNothingSentUpstream() {
		Response response = send("POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
				+ "x-api-key: " + OWN_KEY, RawHttp.jsonBody(MAX_BODY + 1));

		assertThat(response.status()).isEqualTo(413);
		assertThat(response.body()).contains("\"type\":\"request_too_large\"");
		assertThat(upstream.received()).isEmpty();
	}

	@Test
	void anOversizedChunkedByokBodyIsCountedAsItStreamsAndGets413() {
		Response response = send(
				"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
						+ "x-api-key: " + OWN_KEY,
				RawHttp.chunked(RawHttp.jsonBody(MAX_BODY * 2), 8 * 1024));

		assertThat(response.status()).isEqualTo(413);
		assertThat(response.body()).contains("\"type\":\"request_too_large\"");
		assertThat(upstream.received()).as("the upstream never received a complete request").isEmpty();
	}

	/** Anyone can send these: each must not cost a multi-line WARN, or the log is theirs to flood. */
	@Test
	void malformedAndAbandonedRequestsWriteNoMultiLineWarning(CapturedOutput output) throws Exception {
		int start = output.getOut().length();
		Response response = send(
				"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
						+ "x-api-key: " + OWN_KEY,
				RawHttp.chunked(RawHttp.jsonBody(MAX_BODY * 2), 8 * 1024));
		try (Socket abandoning = new Socket("127.0.0.1", this.port)) {
			abandoning.getOutputStream()
				.write(("POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-api-key: "
						+ OWN_KEY + "\r\nContent-Length: 1000\r\n\r\n{\"model\":").getBytes(StandardCharsets.ISO_8859_1));
			abandoning.getOutputStream().flush();
			await().atMost(Duration.ofSeconds(5)).until(() -> activeUpstreamObservations() > 0);
		}

		assertThat(response.status()).isEqualTo(413);
		await().atMost(Duration.ofSeconds(5)).until(() -> activeUpstreamObservations() == 0);
		await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(3)).untilAsserted(() -> {
			String logged = output.getOut().substring(start);
			assertThat(logged).doesNotContain("The connection observed an error");
			assertThat(logged.lines().filter((line) -> line.startsWith("\tat "))).isEmpty();
		});
	}

	@Test
	void aByokBodyWithinTheLimitIsForwardedWhole() {
		answerOk();
		byte[] body = RawHttp.jsonBody(MAX_BODY);

		Response response = send("POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
				+ "Transfer-Encoding: chunked\r\nx-api-key: " + OWN_KEY, RawHttp.chunked(body, 8 * 1024));

		assertThat(response.status()).isEqualTo(200);
		assertThat(upstream.received().get(0).body()).isEqualTo(new String(body, StandardCharsets.UTF_8));
	}

	@Test
	void concurrentLargeBodiesBeyondTheBufferBudgetGet503AndTheBudgetIsGivenBack() {
		Sinks.Empty<Void> release = Sinks.empty();
		upstream.then((request, response) -> release.asMono()
			.then(response.header("Content-Type", "application/json").sendString(Mono.just("{\"id\":\"first\"}")).then()));
		byte[] body = RawHttp.jsonBody(60 * 1024);
		Mono<Response> first = Mono.fromCallable(() -> send("POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
				+ "Content-Type: application/json\r\nx-api-key: " + CLIENT_TOKEN, body))
			.subscribeOn(reactor.core.scheduler.Schedulers.boundedElastic())
			.cache();
		first.subscribe();
		await().atMost(Duration.ofSeconds(10)).until(() -> upstream.received().size() == 1);
		assertThat(this.budget.used()).isGreaterThanOrEqualTo(body.length);

		Response second = send("POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
				+ "x-api-key: " + CLIENT_TOKEN, body);
		release.tryEmitEmpty();

		assertThat(second.status()).isEqualTo(503);
		assertThat(second.headers()).containsEntry("retry-after", "1");
		assertThat(second.body()).contains("\"type\":\"overloaded_error\"");
		assertThat(first.block(Duration.ofSeconds(10)).status()).isEqualTo(200);
		assertThat(upstream.received()).hasSize(1);
		await().atMost(Duration.ofSeconds(5)).until(() -> this.budget.used() == 0);
	}

	@Test
	void concurrentBodiesWithinTheBudgetAreAllServed() {
		Sinks.Empty<Void> release = Sinks.empty();
		for (int i = 0; i < 2; i++) {
			upstream.then((request, response) -> release.asMono()
				.then(response.header("Content-Type", "application/json").sendString(Mono.just("{}")).then()));
		}
		byte[] body = RawHttp.jsonBody(40 * 1024);
		List<Mono<Response>> requests = List.of(sendLater(body), sendLater(body));
		requests.forEach(Mono::subscribe);
		await().atMost(Duration.ofSeconds(10)).until(() -> upstream.received().size() == 2);
		release.tryEmitEmpty();

		assertThat(requests).allSatisfy((request) -> assertThat(request.block(Duration.ofSeconds(10)).status()).isEqualTo(200));
		await().atMost(Duration.ofSeconds(5)).until(() -> this.budget.used() == 0);
	}

	// --- observations, streams and connections end

	@Test
	void twoThousandUpstreamResetsLeaveNoActiveObservation() {
		ConnectionProvider connections = ConnectionProvider.builder("sweep").maxConnections(32).build();
		HttpClient client = HttpClient.create(connections).baseUrl("http://127.0.0.1:" + this.port);
		AtomicInteger badGateways = new AtomicInteger();
		try {
			Flux.range(0, 2000)
				.flatMap((i) -> client.headers((h) -> h.set("x-api-key", CLIENT_TOKEN))
					.get()
					.uri("/reset/v1/models")
					.responseSingle((response, bytes) -> bytes.then(Mono.just(response.status().code()))), 32)
				.doOnNext((status) -> {
					if (status == 502) {
						badGateways.incrementAndGet();
					}
				})
				.blockLast(Duration.ofSeconds(120));
		}
		finally {
			connections.disposeLater().block(Duration.ofSeconds(10));
		}

		assertThat(badGateways.get()).isEqualTo(2000);
		await().atMost(Duration.ofSeconds(5)).until(() -> activeUpstreamObservations() == 0);
	}

	/** On the KeyFailover route and on a route without it, which Spring Cloud Gateway alone serves. */
	@ParameterizedTest
	@ValueSource(strings = { "/v1/models", "/plain/v1/models" })
	void aCallerWhoGoesAwayWhileWaitingForHeadersLeavesNoActiveObservation(String path) {
		upstream.then((request, response) -> Mono.never());
		Disposable call = HttpClient.create()
			.headers((h) -> h.set("x-api-key", CLIENT_TOKEN))
			.get()
			.uri("http://127.0.0.1:" + this.port + path)
			.responseContent()
			.subscribe();
		await().atMost(Duration.ofSeconds(10)).until(() -> upstream.received().size() == 1);
		await().atMost(Duration.ofSeconds(5)).until(() -> activeUpstreamObservations() == 1);

		call.dispose();

		await().atMost(Duration.ofSeconds(5)).until(() -> activeUpstreamObservations() == 0);
	}

	@Test
	void aStreamBrokenInsideACrLfEventHandsTheClientOnlyWholeEvents() {
		upstream.then((request, response) -> response.header("Content-Type", "text/event-stream")
			.send(Flux.just(Unpooled.copiedBuffer("event: a\r\ndata: {}\r\n\r\nevent: b\r\ndata: {\"ty", StandardCharsets.UTF_8))
				.concatWith(Flux.error(new IllegalStateException("simulated connection drop"))))
			.then());

		Response response = send("POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
				+ "x-api-key: " + CLIENT_TOKEN, "{\"stream\":true}");

		assertThat(dechunk(response.body())).isEqualTo("event: a\r\ndata: {}\r\n\r\n" + errorEvent(ResponseRelay.STREAM_BROKEN_MESSAGE));
	}

	@Test
	void aStalledStreamEndsWithTheErrorEventAfterTheIdleTimeout() {
		upstream.then((request, response) -> response.header("Content-Type", "text/event-stream")
			.send(Flux.just(Unpooled.copiedBuffer("event: a\ndata: {}\n\nevent: b\ndata: {}\n\n", StandardCharsets.UTF_8))
				.concatWith(Mono.never()))
			.then());

		Response response = send("POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
				+ "x-api-key: " + CLIENT_TOKEN, "{\"stream\":true}");

		assertThat(dechunk(response.body())).isEqualTo(
				"event: a\ndata: {}\n\nevent: b\ndata: {}\n\n" + errorEvent("upstream stream sent nothing for 1s"));
	}

	@Test
	void anIdleConnectionIsClosedByTheServer() {
		assertThat(RawHttp.millisUntilServerCloses(this.port, "", 10_000)).isBetween(0L, 5_000L);
	}

	@Test
	void aRequestLineThatNeverEndsIsClosedByTheServer() {
		assertThat(RawHttp.millisUntilServerCloses(this.port, "GET /v1/mod", 10_000)).isBetween(0L, 5_000L);
	}

	private Mono<Response> sendLater(byte[] body) {
		return Mono.fromCallable(() -> send("POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
				+ "x-api-key: " + CLIENT_TOKEN, body)).subscribeOn(reactor.core.scheduler.Schedulers.boundedElastic()).cache();
	}

	private static void answerOk() {
		upstream.then((request, response) -> response.header("Content-Type", "application/json")
			.sendString(Mono.just("{\"type\":\"message\"}"))
			.then());
	}

	private Response send(String head, String body) {
		return send(head, body.getBytes(StandardCharsets.UTF_8));
	}

	private Response send(String head, byte[] body) {
		return RawHttp.exchange(this.port, head, body);
	}

	private long activeUpstreamObservations() {
		return this.meters.find("http.client.requests.active")
			.longTaskTimers()
			.stream()
			.mapToLong(LongTaskTimer::activeTasks)
			.sum();
	}

	private static String errorEvent(String message) {
		return "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"" + message
				+ "\"}}\n\n";
	}

	/** The payload of a chunked response body. */
	private static String dechunk(String chunked) {
		StringBuilder out = new StringBuilder();
		int at = 0;
		while (at < chunked.length()) {
			int lineEnd = chunked.indexOf("\r\n", at);
			int size = Integer.parseInt(chunked.substring(at, lineEnd).trim(), 16);
			if (size == 0) {
				break;
			}
			out.append(chunked, lineEnd + 2, lineEnd + 2 + size);
			at = lineEnd + 2 + size + 2;
		}
		return out.toString();
	}

}
