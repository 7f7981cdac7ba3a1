package dev.keypool.budget;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.http.client.HttpClient;

import dev.keypool.support.GatewayTestProperties;
import dev.keypool.support.MutableClock;
import dev.keypool.support.ScriptedUpstream;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Client budgets over real HTTP, on a clock the test moves: a client over a limit gets the
 * provider-style 429 with the right {@code Retry-After}, nothing goes upstream, and the window
 * frees on time (per-day at 00:00 UTC).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		classes = { dev.keypool.KeypoolGatewayApplication.class, ClientBudgetsIntegrationTest.TestClock.class })
class ClientBudgetsIntegrationTest {

	static final ScriptedUpstream upstream = new ScriptedUpstream();

	static final MutableClock clock = new MutableClock(Instant.parse("2026-03-01T10:00:00Z"));

	/** Charged 120 tokens (50 input + 60 output + 10 cache writes); the 1000 cache reads are free. */
	static final String MESSAGE = "{\"type\":\"message\",\"model\":\"claude-haiku-4-5\",\"usage\":{\"input_tokens\":50,"
			+ "\"cache_creation_input_tokens\":10,\"cache_read_input_tokens\":1000,\"output_tokens\":60}}";

	static final String OVER_BUDGET = "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
			+ "\"message\":\"client budget exceeded\"}}";

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.client("team-r", "token-team-r-0001")
			.set("keypool.clients[0].limits.requests-per-minute", "2")
			.client("team-t", "token-team-t-0001")
			.set("keypool.clients[1].limits.tokens-per-minute", "100")
			.client("team-d", "token-team-d-0001")
			.set("keypool.clients[2].limits.tokens-per-day", "150")
			.client("team-free", "token-team-free-0001")
			.client("team-c", "token-team-c-0001")
			.set("keypool.clients[4].limits.tokens-per-minute", "1000")
			.client("team-s", "token-team-s-0001")
			.set("keypool.clients[5].limits.tokens-per-day", "1000000")
			.pool("budget", "b0", "sk-budget-secret-0")
			.route("budget", upstream::url, "/v1/**", "KeyFailover=budget");
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

	@LocalManagementPort
	int managementPort;

	@Autowired
	ClientBudgets budgets;

	WebTestClient client;

	@BeforeEach
	void setUp() {
		upstream.reset();
		this.client = WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + this.port)
			.responseTimeout(Duration.ofSeconds(10))
			.build();
	}

	@AfterAll
	static void stopUpstream() {
		upstream.close();
	}

	@Test
	void theRequestBeyondTheLimitWithinAMinuteIsRefusedUntilTheFirstLeavesTheWindow() {
		clock.set(Instant.parse("2026-03-01T11:00:00Z"));
		answerTwice();
		assertThat(post("token-team-r-0001").getStatus().value()).isEqualTo(200);
		clock.advance(Duration.ofSeconds(10));
		assertThat(post("token-team-r-0001").getStatus().value()).isEqualTo(200);
		clock.advance(Duration.ofSeconds(10));

		EntityExchangeResult<byte[]> refused = post("token-team-r-0001");

		assertThat(refused.getStatus().value()).isEqualTo(429);
		assertThat(refused.getResponseHeaders().getFirst("Retry-After")).isEqualTo("40");
		assertThat(refused.getResponseHeaders().getFirst("x-should-retry")).isEqualTo("true");
		assertThat(new String(refused.getResponseBody(), StandardCharsets.UTF_8)).isEqualTo(OVER_BUDGET);
		assertThat(upstream.received()).hasSize(2);
		clock.advance(Duration.ofSeconds(40));
		answerTwice();
		assertThat(post("token-team-r-0001").getStatus().value()).isEqualTo(200);
	}

	@Test
	void tokensPerMinuteTripAfterTheChargeAndFreeWhenItsSecondLeavesTheWindow() {
		clock.set(Instant.parse("2026-03-01T12:00:00.250Z"));
		answerTwice();
		assertThat(postCharged("token-team-t-0001", "team-t").getStatus().value()).isEqualTo(200);
		clock.advance(Duration.ofSeconds(5));

		EntityExchangeResult<byte[]> refused = post("token-team-t-0001");

		assertThat(refused.getStatus().value()).isEqualTo(429);
		assertThat(refused.getResponseHeaders().getFirst("Retry-After")).isEqualTo("55");
		assertThat(upstream.received()).hasSize(1);
		clock.advance(Duration.ofSeconds(55));
		assertThat(post("token-team-t-0001").getStatus().value()).isEqualTo(200);
	}

	@Test
	void tokensPerDayResetAtMidnightUtc() {
		clock.set(Instant.parse("2026-03-01T23:58:30Z"));
		answerTwice();
		assertThat(postCharged("token-team-d-0001", "team-d").getStatus().value()).isEqualTo(200);
		assertThat(postCharged("token-team-d-0001", "team-d").getStatus().value()).isEqualTo(200);

		EntityExchangeResult<byte[]> refused = post("token-team-d-0001");

		assertThat(refused.getStatus().value()).isEqualTo(429);
		assertThat(refused.getResponseHeaders().getFirst("Retry-After")).isEqualTo("90");
		clock.set(Instant.parse("2026-03-02T00:00:00Z"));
		answerTwice();
		assertThat(post("token-team-d-0001").getStatus().value()).isEqualTo(200);
	}

	@Test
	void rejectionsAreCountedByClientAndLimit() {
		clock.set(Instant.parse("2026-03-01T14:00:00Z"));
		answerTwice();
		post("token-team-r-0001");
		post("token-team-r-0001");
		double before = rejections("team-r", "requests_per_minute");

		post("token-team-r-0001");

		assertThat(rejections("team-r", "requests_per_minute")).isEqualTo(before + 1);
	}

	@Test
	void theEndpointShowsEachClientsUseAgainstItsLimitsAndNeverAToken() {
		clock.set(Instant.parse("2026-03-01T16:00:00Z"));
		answerTwice();
		postCharged("token-team-t-0001", "team-t");

		String body = management("/actuator/keypoolclients");

		assertThat(body).contains("{\"client\":\"team-t\",\"limits\":{\"requestsPerMinute\":null,"
				+ "\"tokensPerMinute\":100,\"tokensPerDay\":null},\"minute\":{\"requests\":null,\"tokens\":120},"
				+ "\"day\":{\"tokens\":")
			.contains("\"resetsAt\":\"2026-03-02T00:00:00Z\"")
			.contains("{\"client\":\"team-free\",\"limits\":{\"requestsPerMinute\":null,\"tokensPerMinute\":null,"
					+ "\"tokensPerDay\":null},\"minute\":null,\"day\":null}")
			.doesNotContain("token-team");
	}

	/**
	 * 20 streams at once for a client with 1000 tokens a minute: each reserves its
	 * {@code max_tokens} plus a quarter of its body's bytes, so only as many run as their
	 * reservations fit in the limit, and what they are charged stays within it.
	 */
	@Test
	void concurrentStreamsReserveWhatTheyMayUseSoTheMinuteStaysWithinItsLimit() {
		clock.set(Instant.parse("2026-03-01T17:00:00Z"));
		int streams = 20;
		long estimate = (STREAM_BODY.length() + 3) / 4;
		long reservation = 100 + estimate;
		Sinks.Empty<Void> finish = Sinks.empty();
		for (int i = 0; i < streams; i++) {
			// each reports an input of exactly the estimate and an output of its max_tokens
			upstream.then((request, response) -> response.header("Content-Type", "text/event-stream")
				.sendString(Flux.concat(Mono.just(start(estimate)), finish.asMono().then(Mono.just(END_OF_100))))
				.then());
		}
		AtomicInteger refused = new AtomicInteger();
		CompletableFuture<List<Integer>> statuses = Flux.range(0, streams)
			.flatMap((i) -> webClient().post()
				.uri("/v1/messages")
				.header("x-api-key", "token-team-c-0001")
				.contentType(MediaType.APPLICATION_JSON)
				.bodyValue(STREAM_BODY)
				.exchangeToMono((response) -> response.bodyToMono(String.class)
					.defaultIfEmpty("")
					.map((body) -> response.statusCode().value())), streams)
			.doOnNext((status) -> {
				if (status == 429) {
					refused.incrementAndGet();
				}
			})
			.collectList()
			.toFuture();
		await().atMost(Duration.ofSeconds(20)).until(() -> upstream.received().size() + refused.get() == streams);

		finish.tryEmitEmpty();

		List<Integer> answered = statuses.join();
		long admitted = 1000 / reservation;
		assertThat(answered.stream().filter((status) -> status == 200).count()).isEqualTo(admitted);
		assertThat(answered.stream().filter((status) -> status == 429).count()).isEqualTo(streams - admitted);
		assertThat(upstream.received()).hasSize((int) admitted);
		await().atMost(Duration.ofSeconds(10)).until(() -> tokensThisMinute("team-c") == admitted * reservation);
		assertThat(tokensThisMinute("team-c")).isLessThanOrEqualTo(1000);
	}

	/**
	 * A caller that leaves a stream after its first events, before the final {@code message_delta}:
	 * the stream reported 11 input tokens and 1 output token, but up to its {@code max_tokens}
	 * may have been relayed, and that is what it is charged.
	 */
	@Test
	void aStreamTheCallerCutsIsChargedItsInputAndItsMaxTokens() {
		clock.set(Instant.parse("2026-03-01T18:00:00Z"));
		Sinks.Many<String> events = Sinks.many().unicast().onBackpressureBuffer();
		upstream.then((request, response) -> response.header("Content-Type", "text/event-stream")
			.sendString(events.asFlux())
			.then());
		long before = tokensToday("team-s");
		StringBuilder relayed = new StringBuilder();
		Sinks.One<Boolean> sawThird = Sinks.one();
		Disposable call = webClient().post()
			.uri("/v1/messages")
			.header("x-api-key", "token-team-s-0001")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"model\":\"claude-haiku-4-5\",\"max_tokens\":5000,\"stream\":true}")
			.retrieve()
			.bodyToFlux(DataBuffer.class)
			.subscribe((buffer) -> {
				relayed.append(buffer.toString(StandardCharsets.UTF_8));
				DataBufferUtils.release(buffer);
				if (relayed.toString().contains("third")) {
					sawThird.tryEmitValue(true);
				}
			});
		try {
			events.tryEmitNext(START_11);
			for (String text : List.of("first", "second", "third")) {
				events.tryEmitNext(textDelta(text));
			}
			assertThat(sawThird.asMono().block(Duration.ofSeconds(10))).isTrue();

			call.dispose();

			await().atMost(Duration.ofSeconds(10)).until(() -> tokensToday("team-s") > before);
			assertThat(tokensToday("team-s") - before).isEqualTo(11 + 5000);
		}
		finally {
			call.dispose();
			events.tryEmitComplete();
		}
	}

	static final String STREAM_BODY = "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":100,\"stream\":true,"
			+ "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

	static final String START_11 = start(11);

	static final String END_OF_100 = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":"
			+ "{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":100}}\n\n"
			+ "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

	static String start(long inputTokens) {
		return "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\","
				+ "\"model\":\"claude-haiku-4-5\",\"usage\":{\"input_tokens\":" + inputTokens + ",\"output_tokens\":1}}}\n\n";
	}

	static String textDelta(String text) {
		return "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
				+ "\"delta\":{\"type\":\"text_delta\",\"text\":\"" + text + "\"}}\n\n";
	}

	private WebClient webClient() {
		return WebClient.builder()
			.clientConnector(new ReactorClientHttpConnector(HttpClient.create()))
			.baseUrl("http://127.0.0.1:" + this.port)
			.build();
	}

	private long tokensThisMinute(String client) {
		return this.budgets.use()
			.block(Duration.ofSeconds(5))
			.stream()
			.filter((budget) -> budget.client().equals(client))
			.map(ClientBudgets.ClientBudget::use)
			.filter(Objects::nonNull)
			.mapToLong(ClientUse::tokensThisMinute)
			.findFirst()
			.orElse(0L);
	}

	private void answerTwice() {
		for (int i = 0; i < 2; i++) {
			upstream.then((request, response) -> response.header("Content-Type", "application/json")
				.sendString(Mono.just(MESSAGE))
				.then());
		}
	}

	private EntityExchangeResult<byte[]> post(String token) {
		return this.client.post()
			.uri("/v1/messages")
			.header("x-api-key", token)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"model\":\"claude-haiku-4-5\"}")
			.exchange()
			.expectBody()
			.returnResult();
	}

	/**
	 * A request whose tokens must be charged before the test goes on. The charge lands when the
	 * upstream's response ends, which can be just after the caller has read the whole body: a
	 * test that moved the clock or sent the next request at once would race it.
	 */
	private EntityExchangeResult<byte[]> postCharged(String token, String client) {
		long before = tokensToday(client);
		EntityExchangeResult<byte[]> result = post(token);
		await().atMost(Duration.ofSeconds(10)).until(() -> tokensToday(client) > before);
		return result;
	}

	private long tokensToday(String client) {
		return this.budgets.use()
			.block(Duration.ofSeconds(5))
			.stream()
			.filter((budget) -> budget.client().equals(client))
			.map(ClientBudgets.ClientBudget::use)
			.filter(Objects::nonNull)
			.mapToLong(ClientUse::tokensToday)
			.findFirst()
			.orElse(0L);
	}

	private double rejections(String client, String limit) {
		String scrape = management("/actuator/prometheus");
		String prefix = "keypool_client_budget_rejections_total{client=\"" + client + "\",limit=\"" + limit + "\"";
		return scrape.lines()
			.filter((line) -> line.startsWith(prefix))
			.mapToDouble((line) -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
			.sum();
	}

	private String management(String path) {
		byte[] body = WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + this.managementPort)
			.build()
			.get()
			.uri(path)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.returnResult()
			.getResponseBody();
		return new String(body, StandardCharsets.UTF_8);
	}

}
