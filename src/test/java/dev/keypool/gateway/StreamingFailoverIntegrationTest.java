package dev.keypool.gateway;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.http.client.HttpClient;
import reactor.test.StepVerifier;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyStatus;
import dev.keypool.support.GatewayTestProperties;
import dev.keypool.support.ScriptedUpstream;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Streaming through the filter: events are relayed as they arrive, failover happens only
 * before the first byte, and a stream cut after it ends with the provider's error event.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class StreamingFailoverIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-streaming-0001";

	static final ScriptedUpstream upstream = new ScriptedUpstream();

	static final ParameterizedTypeReference<ServerSentEvent<String>> SSE = new ParameterizedTypeReference<>() {
	};

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.client("team-s", CLIENT_TOKEN)
			.pool("stream", "k0", "sk-stream-secret-0", "k1", "sk-stream-secret-1")
			.route("stream", upstream::url, "/v1/**", "KeyFailover=stream");
	}

	@LocalServerPort
	int port;

	@Autowired
	KeyPools pools;

	WebClient client;

	@BeforeEach
	void setUp() {
		upstream.reset();
		KeyPool pool = this.pools.get("stream").orElseThrow();
		pool.keys().forEach(pool::reset);
		this.client = WebClient.builder()
			.clientConnector(new ReactorClientHttpConnector(HttpClient.create()))
			.baseUrl("http://127.0.0.1:" + this.port)
			.build();
	}

	@AfterAll
	static void stopUpstream() {
		upstream.close();
	}

	@Test
	void eventsAreRelayedOneByOneAsTheUpstreamSendsThem() {
		Sinks.Many<String> upstreamEvents = Sinks.many().unicast().onBackpressureBuffer();
		upstream.then((request, response) -> response.header("Content-Type", "text/event-stream")
			.sendString(upstreamEvents.asFlux())
			.then());

		Flux<String> received = stream().map(ServerSentEvent::event);

		StepVerifier.create(received)
			.then(() -> upstreamEvents.tryEmitNext(event("message_start", "{\"type\":\"message_start\"}")))
			.expectNext("message_start")
			// the second event is only sent once the first has reached the client: no buffering
			.then(() -> upstreamEvents.tryEmitNext(event("content_block_delta", "{\"type\":\"content_block_delta\"}")))
			.expectNext("content_block_delta")
			.then(() -> {
				upstreamEvents.tryEmitNext(event("message_stop", "{\"type\":\"message_stop\"}"));
				upstreamEvents.tryEmitComplete();
			})
			.expectNext("message_stop")
			.expectComplete()
			.verify(Duration.ofSeconds(10));
	}

	@Test
	void rateLimitedKeyFailsOverBeforeTheStreamStarts() {
		upstream.then((request, response) -> response.status(429)
			.header("Content-Type", "application/json")
			.header("retry-after", "12")
			.sendString(Mono.just("{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"x\"}}"))
			.then());
		upstream.then((request, response) -> response.header("Content-Type", "text/event-stream")
			.sendString(Flux.just(event("message_start", "{}"), event("message_stop", "{}")))
			.then());

		ResponseEntity<List<ServerSentEvent<String>>> entity = this.client.post()
			.uri("/v1/messages")
			.header("x-api-key", CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"stream\":true}")
			.retrieve()
			.toEntityList(SSE)
			.block(Duration.ofSeconds(10));

		assertThat(entity.getHeaders().getFirst("X-Keypool-Key")).isEqualTo("k1");
		assertThat(entity.getHeaders().getContentType().isCompatibleWith(MediaType.TEXT_EVENT_STREAM)).isTrue();
		assertThat(entity.getBody()).extracting(ServerSentEvent::event).containsExactly("message_start", "message_stop");
		assertThat(upstream.received()).extracting(ScriptedUpstream.Received::apiKey)
			.containsExactly("sk-stream-secret-0", "sk-stream-secret-1");
		assertThat(upstream.received()).allSatisfy((r) -> assertThat(r.body()).isEqualTo("{\"stream\":true}"));
	}

	@Test
	void aStreamCutAfterItsFirstByteEndsWithAnErrorEventAndNoFailover() {
		upstream.then((request, response) -> response.header("Content-Type", "text/event-stream")
			.sendString(Flux.just(event("message_start", "{\"type\":\"message_start\"}"))
				.concatWith(Flux.error(new IllegalStateException("simulated connection drop"))))
			.then());

		List<ServerSentEvent<String>> events = stream().collectList().block(Duration.ofSeconds(10));

		assertThat(events).extracting(ServerSentEvent::event).containsExactly("message_start", "error");
		assertThat(events.get(1).data()).isEqualTo("{\"type\":\"error\",\"error\":{\"type\":\"api_error\","
				+ "\"message\":\"upstream connection closed before the stream ended\"}}");
		assertThat(upstream.received()).hasSize(1);
		KeyPool pool = this.pools.get("stream").orElseThrow();
		assertThat(pool.status(pool.keys().get(0))).isEqualTo(KeyStatus.AVAILABLE);
	}

	@Test
	void aStreamCutInsideAnEventDropsTheHalfEventAndEndsWithTheErrorEvent() {
		upstream.then((request, response) -> response.header("Content-Type", "text/event-stream")
			.send(Flux.just(Unpooled.copiedBuffer(event("message_start", "{}"), StandardCharsets.UTF_8),
					Unpooled.copiedBuffer("event: content_block_delta\ndata: {\"type\":\"content_bl",
							StandardCharsets.UTF_8))
				.concatWith(Flux.error(new IllegalStateException("simulated connection drop"))))
			.then());

		String raw = this.client.post()
			.uri("/v1/messages")
			.header("x-api-key", CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"stream\":true}")
			.retrieve()
			.bodyToMono(String.class)
			.block(Duration.ofSeconds(10));

		assertThat(raw).isEqualTo(event("message_start", "{}") + "event: error\ndata: {\"type\":\"error\",\"error\":"
				+ "{\"type\":\"api_error\",\"message\":\"upstream connection closed before the stream ended\"}}\n\n");
	}

	@Test
	void everyKeyRateLimitedAnswersAStreamingRequestWithA429Error() {
		for (int i = 0; i < 2; i++) {
			upstream.then((request, response) -> response.status(429)
				.header("retry-after", "4")
				.sendString(Mono.just("{}"))
				.then());
		}

		ResponseEntity<String> entity = this.client.post()
			.uri("/v1/messages")
			.header("x-api-key", CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"stream\":true}")
			.exchangeToMono((response) -> response.toEntity(String.class))
			.block(Duration.ofSeconds(10));

		assertThat(entity.getStatusCode().value()).isEqualTo(429);
		assertThat(entity.getHeaders().getFirst("Retry-After")).isEqualTo("4");
		assertThat(entity.getBody()).isEqualTo("{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
				+ "\"message\":\"all configured keys are rate-limited\"}}");
	}

	private Flux<ServerSentEvent<String>> stream() {
		return this.client.post()
			.uri("/v1/messages")
			.header("x-api-key", CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"stream\":true}")
			.retrieve()
			.bodyToFlux(SSE);
	}

	private static String event(String type, String data) {
		return "event: " + type + "\ndata: " + data + "\n\n";
	}

}
