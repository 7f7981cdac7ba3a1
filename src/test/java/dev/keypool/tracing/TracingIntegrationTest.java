package dev.keypool.tracing;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.opentelemetry.sdk.trace.SdkTracerProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.http.client.HttpClient;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.support.GatewayTestProperties;
import dev.keypool.support.OtlpReceiver;
import dev.keypool.support.OtlpReceiver.ExportedSpan;
import dev.keypool.support.ScriptedUpstream;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Tracing turned on through Spring Boot's own properties, exported over OTLP/HTTP to an
 * in-process receiver: one span per pooled request, one child per upstream attempt, the
 * attributes that follow a request through failover, and nothing secret in any of it.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		classes = dev.keypool.KeypoolGatewayApplication.class)
class TracingIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-tracing-0001";

	static final String SECRET_0 = "sk-ant-tracing-secret-0000";

	static final String SECRET_1 = "sk-ant-tracing-secret-1111";

	static final String PROMPT = "prompt-text-that-must-stay-private";

	static final String COMPLETION = "completion-text-that-must-stay-private";

	/** A caller's W3C trace context: its trace id must carry through the gateway's spans. */
	static final String CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

	static final String CALLER_TRACEPARENT = "00-" + CALLER_TRACE_ID + "-00f067aa0ba902b7-01";

	static final ScriptedUpstream upstream = new ScriptedUpstream();

	static final OtlpReceiver receiver = new OtlpReceiver();

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.client("team-t", CLIENT_TOKEN)
			.pool("traced", "k0", SECRET_0, "k1", SECRET_1)
			.route("traced", upstream::url, "/v1/**", "KeyFailover=traced")
			.set("management.tracing.export.enabled", true)
			.set("management.tracing.sampling.probability", 1.0)
			.set("management.opentelemetry.tracing.export.otlp.endpoint", receiver.tracesEndpoint());
	}

	@LocalServerPort
	int port;

	@LocalManagementPort
	int managementPort;

	@Autowired
	KeyPools pools;

	@Autowired
	SdkTracerProvider tracerProvider;

	WebTestClient client;

	@BeforeEach
	void setUp() {
		upstream.reset();
		KeyPool pool = this.pools.get("traced").orElseThrow();
		pool.keys().forEach(pool::reset);
		flush();
		receiver.reset();
		this.client = WebTestClient.bindToServer(new ReactorClientHttpConnector(HttpClient.create()))
			.baseUrl("http://127.0.0.1:" + this.port)
			.responseTimeout(Duration.ofSeconds(10))
			.build();
	}

	@AfterAll
	static void stop() {
		upstream.close();
		receiver.close();
	}

	@Test
	void aFailoverIsOneRequestSpanWithOneChildSpanPerAttempt() {
		rateLimitedThenOk();

		postMessage();

		ExportedSpan request = awaitRequestSpan();
		List<ExportedSpan> attempts = childrenOf(request, "keypool.attempt");
		assertThat(attempts).hasSize(2);
		assertThat(attempts.get(0).attributes()).containsAllEntriesOf(Map.of("keypool.key", "k0", "keypool.attempt",
				1L, "keypool.outcome", "rate_limited", "keypool.pool", "traced", "gen_ai.provider.name", "anthropic",
				"gen_ai.request.model", "claude-opus-4-7"));
		assertThat(attempts.get(1).attributes()).containsAllEntriesOf(Map.of("keypool.key", "k1", "keypool.attempt",
				2L, "keypool.outcome", "success", "keypool.pool", "traced", "gen_ai.provider.name", "anthropic",
				"gen_ai.request.model", "claude-opus-4-7"));
		assertThat(request.attributes()).containsAllEntriesOf(Map.of("keypool.pool", "traced", "keypool.key", "k1",
				"keypool.attempts", 2L, "keypool.outcome", "success", "keypool.model_class", "opus",
				"gen_ai.provider.name", "anthropic", "gen_ai.request.model", "claude-opus-4-7"));
	}

	@Test
	void everySpanOfARequestContinuesTheCallersTrace() {
		rateLimitedThenOk();

		postMessage();

		ExportedSpan request = awaitRequestSpan();
		List<ExportedSpan> attempts = childrenOf(request, "keypool.attempt");
		assertThat(request.traceId()).isEqualTo(CALLER_TRACE_ID);
		assertThat(attempts).extracting(ExportedSpan::traceId).containsOnly(CALLER_TRACE_ID);
	}

	@Test
	void eachUpstreamRequestCarriesATraceparentOfItsOwnAttempt() {
		rateLimitedThenOk();

		postMessage();

		ExportedSpan request = awaitRequestSpan();
		List<ExportedSpan> attempts = childrenOf(request, "keypool.attempt");
		List<String> sent = upstream.received().stream().map((r) -> r.headers().get("traceparent")).toList();
		assertThat(sent).hasSize(2);
		for (int i = 0; i < 2; i++) {
			// Spring Cloud Gateway's HTTP client span is the attempt's child and the upstream's parent
			ExportedSpan httpClient = single(childrenOf(attempts.get(i), "HTTP POST"));
			assertThat(sent.get(i)).isEqualTo("00-" + CALLER_TRACE_ID + "-" + httpClient.spanId() + "-01");
		}
	}

	@Test
	void theResponsesCountedUsageBecomesIntegerAttributesOfTheRequestSpan() {
		rateLimitedThenOk();

		postMessage();

		// input counts every prompt token, cache reads (5) and cache writes (3) included
		assertThat(awaitRequestSpan().attributes()).containsEntry("gen_ai.usage.input_tokens", 20L)
			.containsEntry("gen_ai.usage.output_tokens", 34L);
	}

	@Test
	void controlCharactersInTheCallersModelReachNoSpanAttribute() {
		for (String model : List.of("evil\\r\\n\\u001b[31m", "evil\r\n\u001b[31m")) {
			upstream.then((request, response) -> response.header("Content-Type", "application/json")
				.sendString(Mono.just("{\"type\":\"message\",\"content\":[]}"))
				.then());
			this.client.post()
				.uri("/v1/messages")
				.header("x-api-key", CLIENT_TOKEN)
				.contentType(MediaType.APPLICATION_JSON)
				.bodyValue("{\"model\":\"" + model + "\",\"max_tokens\":16}")
				.exchange()
				.expectStatus()
				.isOk()
				// read, so the test client's response buffer is released
				.expectBody(String.class);
		}

		await().atMost(Duration.ofSeconds(10)).until(() -> {
			flush();
			return requestSpans().size() >= 2;
		});
		assertThat(requestSpans()).allSatisfy((span) -> {
			assertThat(span.attributes()).containsEntry("keypool.model_class", "other")
				.doesNotContainKey("gen_ai.request.model");
			assertThat(span.attributes().values()).noneMatch((value) -> String.valueOf(value).contains("evil"));
		});
	}

	@Test
	void noSecretTokenPromptOrCompletionIsExported() {
		rateLimitedThenOk();

		postMessage();

		awaitRequestSpan();
		assertThat(receiver.spans()).hasSizeGreaterThanOrEqualTo(5);
		for (String secret : List.of(SECRET_0, SECRET_1, CLIENT_TOKEN, PROMPT, COMPLETION)) {
			assertThat(receiver.anyPayloadContains(secret)).as(secret).isFalse();
			assertThat(receiver.spans()).allSatisfy((span) -> assertThat(span.attributes().values())
				.noneMatch((value) -> String.valueOf(value).contains(secret)));
		}
	}

	@Test
	void spansAddNoPrometheusSeries() {
		rateLimitedThenOk();

		postMessage();

		awaitRequestSpan();
		String scrape = WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + this.managementPort)
			.build()
			.get()
			.uri("/actuator/prometheus")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(String.class)
			.returnResult()
			.getResponseBody();
		assertThat(scrape).contains("keypool_request_attempts_count{pool=\"traced\"")
			.doesNotContain("keypool_request_seconds", "keypool_request_active", "keypool_attempt_seconds",
					"keypool_attempt_active");
	}

	@Test
	void anExhaustedPoolIsTheRequestsOutcome() {
		for (int i = 0; i < 2; i++) {
			upstream.then((request, response) -> response.status(429)
				.header("retry-after", "30")
				.sendString(Mono.just("{}"))
				.then());
		}

		this.client.post()
			.uri("/v1/messages")
			.header("x-api-key", CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue(messageBody())
			.exchange()
			.expectStatus()
			.isEqualTo(429)
			.expectBody()
			.returnResult();

		ExportedSpan request = awaitRequestSpan();
		assertThat(request.attributes()).containsEntry("keypool.outcome", "exhausted")
			.containsEntry("keypool.attempts", 2L)
			.doesNotContainKey("keypool.key");
		assertThat(childrenOf(request, "keypool.attempt")).extracting((span) -> span.attribute("keypool.outcome"))
			.containsExactly("rate_limited", "rate_limited");
	}

	@Test
	void aStreamsRequestSpanEndsWhenTheStreamEnds() {
		Sinks.Many<String> events = Sinks.many().unicast().onBackpressureBuffer();
		upstream.then((request, response) -> response.header("Content-Type", "text/event-stream")
			.sendString(events.asFlux())
			.then());
		Flux<String> stream = streamingCall();
		Sinks.One<String> first = Sinks.one();
		Disposable call = stream.doOnNext((chunk) -> first.tryEmitValue(chunk)).subscribe();
		try {
			events.tryEmitNext("event: message_start\ndata: {\"type\":\"message_start\"}\n\n");
			assertThat(first.asMono().block(Duration.ofSeconds(10))).contains("message_start");

			flush();
			assertThat(requestSpans()).as("no request span while the stream runs").isEmpty();

			events.tryEmitNext("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
			events.tryEmitComplete();
			ExportedSpan request = awaitRequestSpan();
			assertThat(request.attributes()).containsEntry("keypool.outcome", "success");
			assertThat(single(childrenOf(request, "keypool.attempt")).attributes()).containsEntry("keypool.outcome",
					"success");
		}
		finally {
			call.dispose();
		}
	}

	@Test
	void aCallerWhoLeavesMidStreamEndsTheRequestAndAttemptSpansAtOnce() {
		Sinks.Many<String> events = Sinks.many().unicast().onBackpressureBuffer();
		upstream.then((request, response) -> response.header("Content-Type", "text/event-stream")
			.sendString(events.asFlux())
			.then());
		Sinks.One<String> first = Sinks.one();
		Disposable call = streamingCall().doOnNext((chunk) -> first.tryEmitValue(chunk)).subscribe();
		try {
			events.tryEmitNext("event: message_start\ndata: {\"type\":\"message_start\"}\n\n");
			assertThat(first.asMono().block(Duration.ofSeconds(10))).contains("message_start");

			call.dispose();

			// the upstream stream is still open: the spans end because the caller left
			ExportedSpan request = awaitRequestSpan();
			assertThat(single(childrenOf(request, "keypool.attempt")).attributes()).containsEntry("keypool.key", "k0");
		}
		finally {
			events.tryEmitComplete();
		}
	}

	@Test
	void aCallerWhoLeavesBeforeTheUpstreamAnswersEndsBothSpansAsCancelled() {
		upstream.then((request, response) -> Mono.never());
		Disposable call = streamingCall().subscribe();
		await().atMost(Duration.ofSeconds(10)).until(() -> upstream.received().size() == 1);

		call.dispose();

		ExportedSpan request = awaitRequestSpan();
		assertThat(request.attributes()).containsEntry("keypool.outcome", "cancelled");
		assertThat(single(childrenOf(request, "keypool.attempt")).attributes()).containsEntry("keypool.outcome",
				"cancelled");
	}

	private void rateLimitedThenOk() {
		upstream.then((request, response) -> response.status(429)
			.header("Content-Type", "application/json")
			.header("retry-after", "30")
			.sendString(Mono.just("{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"x\"}}"))
			.then());
		upstream.then((request, response) -> response.header("Content-Type", "application/json")
			.sendString(Mono.just("{\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"" + COMPLETION
					+ "\"}],\"usage\":{\"input_tokens\":12,\"cache_read_input_tokens\":5,"
					+ "\"cache_creation_input_tokens\":3,\"output_tokens\":34}}"))
			.then());
	}

	private void postMessage() {
		this.client.post()
			.uri("/v1/messages")
			.header("x-api-key", CLIENT_TOKEN)
			.header("traceparent", CALLER_TRACEPARENT)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue(messageBody())
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.valueEquals("X-Keypool-Key", "k1")
			.expectBody(String.class)
			.value((body) -> assertThat(body).contains(COMPLETION));
	}

	private Flux<String> streamingCall() {
		return HttpClient.create()
			.headers((h) -> h.set("x-api-key", CLIENT_TOKEN).set("Content-Type", "application/json"))
			.post()
			.uri("http://127.0.0.1:" + this.port + "/v1/messages")
			.send(reactor.netty.ByteBufFlux.fromString(Mono.just(messageBody().replace("}", ",\"stream\":true}"))))
			.responseContent()
			.asString();
	}

	private static String messageBody() {
		return "{\"model\":\"claude-opus-4-7\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\",\"content\":\""
				+ PROMPT + "\"}]}";
	}

	private void flush() {
		this.tracerProvider.forceFlush().join(10, TimeUnit.SECONDS);
	}

	private List<ExportedSpan> requestSpans() {
		return receiver.spans().stream().filter((span) -> span.name().equals("keypool.request")).toList();
	}

	private ExportedSpan awaitRequestSpan() {
		await().atMost(Duration.ofSeconds(10)).until(() -> {
			flush();
			return !requestSpans().isEmpty();
		});
		return single(requestSpans());
	}

	/** The spans named {@code name} whose parent is {@code parent}, attempts in their order. */
	private static List<ExportedSpan> childrenOf(ExportedSpan parent, String name) {
		return receiver.spans()
			.stream()
			.filter((span) -> span.name().equals(name) && span.parentSpanId().equals(parent.spanId()))
			.sorted(java.util.Comparator.comparingLong((span) -> span.attribute("keypool.attempt") instanceof Long n ? n : 0L))
			.toList();
	}

	private static ExportedSpan single(List<ExportedSpan> spans) {
		assertThat(spans).hasSize(1);
		return spans.get(0);
	}

}
