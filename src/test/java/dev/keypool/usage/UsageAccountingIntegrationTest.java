package dev.keypool.usage;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.zip.GZIPOutputStream;

import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;

import dev.keypool.budget.ClientBudgets;
import dev.keypool.budget.ClientUse;
import dev.keypool.support.GatewayTestProperties;
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
 * Token accounting over real HTTP: the usage of blocking and streaming responses, pooled and
 * BYOK, plain and gzip, counted exactly into {@code keypool_tokens_total}, as the scrape shows.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class UsageAccountingIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-usage-0001";

	static final ScriptedUpstream upstream = new ScriptedUpstream();

	static final String MESSAGE = "{\"id\":\"msg_1\",\"type\":\"message\",\"model\":\"claude-opus-4-7\",\"content\":"
			+ "[{\"type\":\"text\",\"text\":\"hi\"}],\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":300,"
			+ "\"cache_read_input_tokens\":4000,\"output_tokens\":56}}";

	static final String START = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\","
			+ "\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":100,"
			+ "\"cache_read_input_tokens\":2000,\"output_tokens\":1}}}\n\n";

	static final String DELTAS = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
			+ "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
			+ "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"output_tokens\":7}}\n\n"
			+ "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
			+ "\"usage\":{\"output_tokens\":15}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.client("team-u", CLIENT_TOKEN)
			.set("keypool.clients[0].limits.tokens-per-day", "1000000000")
			.pool("acct", "k0", "sk-acct-secret-0")
			.pool("open", "o0", "sk-open-secret-0")
			.set("keypool.pools.open.allow-anonymous", "true")
			.route("open", upstream::url, "/open/**", "StripPrefix=1", "KeyFailover=open")
			.route("acct", upstream::url, "/v1/**", "KeyFailover=acct");
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
	void aPooledBlockingResponseCountsEachTypeOfToken() {
		upstream.then((request, response) -> response.header("Content-Type", "application/json")
			.sendString(Mono.just(MESSAGE))
			.then());
		PrometheusText before = tokens();

		String body = post(CLIENT_TOKEN, "{\"model\":\"claude-opus-4-7\"}");

		assertThat(body).isEqualTo(MESSAGE);
		// counted when the upstream's response ends, which can be just after the caller read it
		await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
			PrometheusText after = tokens();
			String[] labels = { "pool", "acct", "key", "k0", "client", "team-u", "model_class", "opus" };
			assertThat(delta(before, after, labels, "input")).isEqualTo(12);
			assertThat(delta(before, after, labels, "output")).isEqualTo(56);
			assertThat(delta(before, after, labels, "cache_read")).isEqualTo(4000);
			assertThat(delta(before, after, labels, "cache_creation")).isEqualTo(300);
		});
	}

	@Test
	void aByokStreamCountsMessageStartAndTheLastDeltaUnderByok() {
		upstream.then((request, response) -> response.header("Content-Type", "text/event-stream")
			.send(Flux.just(START, DELTAS.substring(0, 37), DELTAS.substring(37))
				.map((part) -> Unpooled.copiedBuffer(part, StandardCharsets.UTF_8)))
			.then());
		PrometheusText before = tokens();

		String body = post("sk-ant-callers-own-key", "{\"model\":\"claude-sonnet-4-5\",\"stream\":true}");

		assertThat(body).isEqualTo(START + DELTAS);
		// counted when the upstream's response ends, which can be just after the caller read it
		await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
			PrometheusText after = tokens();
			String[] labels = { "pool", "acct", "key", "byok", "client", "byok", "model_class", "sonnet" };
			assertThat(delta(before, after, labels, "input")).isEqualTo(25);
			assertThat(delta(before, after, labels, "output")).isEqualTo(15);
			assertThat(delta(before, after, labels, "cache_read")).isEqualTo(2000);
			assertThat(delta(before, after, labels, "cache_creation")).isEqualTo(100);
		});
	}

	@Test
	void aStreamCutMidwayCountsWhatArrived() {
		upstream.then((request, response) -> response.header("Content-Type", "text/event-stream")
			.sendString(Flux.just(START, "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"out")
				.concatWith(Flux.error(new IllegalStateException("simulated connection drop"))))
			.then());
		PrometheusText before = tokens();

		String body = post(CLIENT_TOKEN, "{\"model\":\"claude-sonnet-4-5\",\"stream\":true}");

		assertThat(body).startsWith(START).contains("event: error");
		// counted when the upstream's response ends, which can be just after the caller read it
		await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
			PrometheusText after = tokens();
			String[] labels = { "pool", "acct", "key", "k0", "client", "team-u", "model_class", "sonnet" };
			assertThat(delta(before, after, labels, "input")).isEqualTo(25);
			assertThat(delta(before, after, labels, "output")).isEqualTo(1);
			assertThat(delta(before, after, labels, "cache_read")).isEqualTo(2000);
		});
	}

	@Test
	void batchResultsCountTheUsageOfEveryResultIntoTheMetricAndTheClientsBudget() {
		upstream.then((request, response) -> response.header("Content-Type", "application/binary")
			.send(Flux.just(UsageScannerTests.BATCH_RESULTS.substring(0, 100),
					UsageScannerTests.BATCH_RESULTS.substring(100))
				.map((part) -> Unpooled.copiedBuffer(part, StandardCharsets.UTF_8)))
			.then());
		PrometheusText before = tokens();
		long budgetBefore = tokensToday();

		byte[] body = this.client.get()
			.uri("/v1/messages/batches/msgbatch_01abc/results")
			.header("x-api-key", CLIENT_TOKEN)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.returnResult()
			.getResponseBody();

		assertThat(new String(body, StandardCharsets.UTF_8)).isEqualTo(UsageScannerTests.BATCH_RESULTS);
		String[] labels = { "pool", "acct", "key", "k0", "client", "team-u", "model_class", "*" };
		await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
			PrometheusText after = tokens();
			assertThat(delta(before, after, labels, "input")).isEqualTo(40);
			assertThat(delta(before, after, labels, "output")).isEqualTo(60);
			assertThat(delta(before, after, labels, "cache_read")).isEqualTo(100);
			assertThat(delta(before, after, labels, "cache_creation")).isEqualTo(5);
			assertThat(tokensToday() - budgetBefore).isEqualTo(40 + 60 + 5);
		});
	}

	private long tokensToday() {
		return this.budgets.use()
			.block(Duration.ofSeconds(5))
			.stream()
			.filter((budget) -> budget.client().equals("team-u"))
			.map(ClientBudgets.ClientBudget::use)
			.filter(Objects::nonNull)
			.mapToLong(ClientUse::tokensToday)
			.findFirst()
			.orElse(0L);
	}

	@Test
	void aBodyWithoutUsageCountsNothingAndIsRelayedAsItCame() {
		String noUsage = "{\"data\":[{\"type\":\"model\",\"id\":\"claude-opus-4-7\"}],\"has_more\":false}";
		upstream.then((request, response) -> response.header("Content-Type", "application/json")
			.sendString(Mono.just(noUsage))
			.then());
		PrometheusText before = tokens();

		String body = post(CLIENT_TOKEN, "{\"model\":\"claude-opus-4-7\"}");

		assertThat(body).isEqualTo(noUsage);
		assertThat(tokens().samples()).isEqualTo(before.samples());
	}

	@Test
	void aGzipResponseIsRelayedCompressedAndCounted() {
		byte[] compressed = gzip(MESSAGE);
		upstream.then((request, response) -> response.header("Content-Type", "application/json")
			.header("Content-Encoding", "gzip")
			.send(Flux.just(Unpooled.wrappedBuffer(compressed, 0, 7), Unpooled.wrappedBuffer(compressed, 7, 20),
					Unpooled.wrappedBuffer(compressed, 27, compressed.length - 27)))
			.then());
		PrometheusText before = tokens();

		WebTestClient rawClient = WebTestClient
			.bindToServer(new ReactorClientHttpConnector(HttpClient.create().compress(false)))
			.baseUrl("http://127.0.0.1:" + this.port)
			.build();
		byte[] body = rawClient.post()
			.uri("/v1/messages")
			.header("x-api-key", CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"model\":\"claude-opus-4-7\"}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.returnResult()
			.getResponseBody();

		assertThat(body).isEqualTo(compressed);
		// counted when the upstream's response ends, which can be just after the caller read it
		await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
			PrometheusText after = tokens();
			String[] labels = { "pool", "acct", "key", "k0", "client", "team-u", "model_class", "opus" };
			assertThat(delta(before, after, labels, "input")).isEqualTo(12);
			assertThat(delta(before, after, labels, "cache_read")).isEqualTo(4000);
		});
	}

	@Test
	void anAnonymousPooledCallerCountsAsAnonymous() {
		upstream.then((request, response) -> response.header("Content-Type", "application/json")
			.sendString(Mono.just(MESSAGE))
			.then());
		PrometheusText before = tokens();

		this.client.post()
			.uri("/open/v1/messages")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"model\":\"claude-opus-4-7\"}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.returnResult();

		String[] labels = { "pool", "open", "key", "o0", "client", "anonymous", "model_class", "opus" };
		await().atMost(Duration.ofSeconds(10))
			.untilAsserted(() -> assertThat(delta(before, tokens(), labels, "output")).isEqualTo(56));
	}

	@Test
	void labelsStayBoundedUnderAFloodOfRandomModelsAndCredentials() {
		int requests = 40;
		for (int i = 0; i < requests; i++) {
			String model = "claude-" + randomLetters() + "-4";
			String message = MESSAGE.replace("claude-opus-4-7", model);
			upstream.then((request, response) -> response.header("Content-Type", "application/json")
				.sendString(Mono.just(message))
				.then());
			post("sk-random-" + randomLetters(), "{\"model\":\"" + model + "\"}");
		}

		PrometheusText after = tokens();
		assertThat(after.values("client", "pool", "acct")).isSubsetOf("team-u", "byok", "anonymous");
		assertThat(after.values("model_class", "pool", "acct", "client", "byok"))
			.hasSizeLessThanOrEqualTo(dev.keypool.pool.ModelClasses.MAX_NAMED + 1)
			.contains(dev.keypool.pool.ModelClasses.OTHER);
		assertThat(after.values("key", "pool", "acct")).isSubsetOf("k0", "byok");
	}

	private String post(String credential, String body) {
		byte[] bytes = this.client.post()
			.uri("/v1/messages")
			.header("x-api-key", credential)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue(body)
			.exchange()
			.expectBody()
			.returnResult()
			.getResponseBody();
		return (bytes != null) ? new String(bytes, StandardCharsets.UTF_8) : "";
	}

	private PrometheusText tokens() {
		return PrometheusText.tokens(this.managementPort);
	}

	private static double delta(PrometheusText before, PrometheusText after, String[] labels, String type) {
		return after.tokensSince(before, labels, type);
	}

	private static String randomLetters() {
		StringBuilder letters = new StringBuilder();
		for (int i = 0; i < 8; i++) {
			letters.append((char) ('a' + ThreadLocalRandom.current().nextInt(26)));
		}
		return letters.toString();
	}

	private static byte[] gzip(String text) {
		ByteArrayOutputStream bytes = new ByteArrayOutputStream();
		try (GZIPOutputStream out = new GZIPOutputStream(bytes)) {
			out.write(text.getBytes(StandardCharsets.UTF_8));
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		return bytes.toByteArray();
	}

}
