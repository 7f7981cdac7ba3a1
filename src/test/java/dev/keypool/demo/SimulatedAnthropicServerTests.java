package dev.keypool.demo;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.ByteBufFlux;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.client.PrematureCloseException;
import reactor.test.StepVerifier;
import reactor.util.function.Tuple2;

import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;

class SimulatedAnthropicServerTests {

	private static final String STREAM = """
			{"model":"claude-sonnet-4-6","max_tokens":64,"stream":true,
			 "messages":[{"role":"user","content":"tell me a long story please"}]}""";

	private SimulatedAnthropicServer server;

	@AfterEach
	void close() {
		if (this.server != null) {
			this.server.close();
		}
	}

	@Test
	void servesTheApiWithoutPrefixOverHttpOnARandomPort() {
		this.server = SimulatedAnthropicServer.start(List.of(SimulatedKey.ok("k")), Duration.ZERO);

		WebTestClient.bindToServer()
			.baseUrl(this.server.baseUrl())
			.build()
			.post()
			.uri("/v1/messages")
			.header("x-api-key", "k")
			.header("anthropic-version", "2023-06-01")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("""
					{"model":"m","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}""")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.exists("request-id")
			.expectBody()
			.jsonPath("$.type")
			.isEqualTo("message");

		assertThat(this.server.port()).isPositive();
		assertThat(this.server.requestCount("k")).isEqualTo(1);
		assertThat(this.server.recordedRequests()).singleElement()
			.satisfies((request) -> assertThat(request.path()).isEqualTo("/v1/messages"));
	}

	@Test
	void streamFramesReachTheClientAsTheyAreProducedNotAllAtTheEnd() {
		this.server = SimulatedAnthropicServer.start(List.of(SimulatedKey.ok("k")), Duration.ofMillis(40));

		List<Tuple2<Long, String>> chunks = stream("k").elapsed().collectList().block(Duration.ofSeconds(10));

		assertThat(chunks.get(0).getT2()).startsWith("event: message_start");
		assertThat(chunks.get(chunks.size() - 1).getT2()).contains("event: message_stop");
		long afterFirstChunk = chunks.stream().skip(1).mapToLong(Tuple2::getT1).sum();
		assertThat(afterFirstChunk).as("ms between the first and the last chunk").isGreaterThanOrEqualTo(100);
	}

	@Test
	void brokenStreamClosesTheConnectionAfterTheFirstDelta() {
		this.server = SimulatedAnthropicServer.start(List.of(SimulatedKey.streamBreaks("k")), Duration.ZERO);

		StringBuilder received = new StringBuilder();
		StepVerifier.create(stream("k").doOnNext(received::append).then())
			.expectError(PrematureCloseException.class)
			.verify(Duration.ofSeconds(10));

		assertThat(received.toString()).contains("event: message_start", "event: content_block_delta")
			.doesNotContain("event: message_stop");
	}

	@Test
	void closedServerRefusesConnections() {
		this.server = SimulatedAnthropicServer.start(List.of(), Duration.ZERO);
		int port = this.server.port();

		this.server.close();

		StepVerifier.create(HttpClient.create().port(port).host("127.0.0.1").get().uri("/v1/models").response())
			.expectError()
			.verify(Duration.ofSeconds(10));
	}

	/** The raw chunks of a streamed reply, decoded, as the network delivers them. */
	private Flux<String> stream(String key) {
		return HttpClient.create()
			.baseUrl(this.server.baseUrl())
			.headers((headers) -> headers.set("x-api-key", key)
				.set("anthropic-version", "2023-06-01")
				.set("content-type", "application/json"))
			.post()
			.uri("/v1/messages")
			.send(ByteBufFlux.fromString(Mono.just(STREAM)))
			.responseContent()
			.asString(StandardCharsets.UTF_8);
	}

}
