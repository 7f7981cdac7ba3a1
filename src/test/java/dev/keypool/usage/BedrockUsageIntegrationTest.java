package dev.keypool.usage;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import dev.keypool.support.FakeBedrock;
import dev.keypool.support.GatewayTestProperties;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Token accounting of Bedrock's own shapes over real HTTP: Converse's camelCase {@code usage},
 * InvokeModelWithResponseStream's base64 chunks of Anthropic events and ConverseStream's
 * {@code metadata} event, pooled and BYOK, counted exactly into {@code keypool_tokens_total}.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class BedrockUsageIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-bedrock-usage-01";

	static final String POOL_KEY = "bedrock-api-key-pool-0123456789";

	static final String CALLERS_KEY = "bedrock-api-key-callers-own-0123";

	static final String OPUS = "/model/anthropic.claude-opus-4-7-v1:0";

	static final FakeBedrock bedrock = new FakeBedrock("us-east-1").apiKey(POOL_KEY).apiKey(CALLERS_KEY);

	static final String[] POOLED = { "pool", "bedrock", "key", "k0", "client", "team-b", "model_class", "opus" };

	static final String START = "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"claude-opus-4-7\","
			+ "\"content\":[],\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":100,"
			+ "\"cache_read_input_tokens\":2000,\"output_tokens\":1}}}";

	static final String DELTA = "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
			+ "\"usage\":{\"output_tokens\":15}}";

	static final String STOP = "{\"type\":\"message_stop\",\"amazon-bedrock-invocationMetrics\":"
			+ "{\"inputTokenCount\":25,\"outputTokenCount\":15,\"invocationLatency\":5,\"firstByteLatency\":2}}";

	static final byte[] METADATA = FakeBedrock.event("metadata", "{\"usage\":{\"inputTokens\":30,\"outputTokens\":40,"
			+ "\"totalTokens\":4370,\"cacheReadInputTokens\":4000,\"cacheWriteInputTokens\":300},"
			+ "\"metrics\":{\"latencyMs\":5},\"p\":\"abc\"}");

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.client("team-b", CLIENT_TOKEN)
			.set("keypool.pools.bedrock.provider", "bedrock")
			.set("keypool.pools.bedrock.keys[0].id", "k0")
			.set("keypool.pools.bedrock.keys[0].secret", POOL_KEY)
			.route("bedrock", bedrock::url, "/model/**", "KeyFailover=bedrock");
	}

	@LocalServerPort
	int port;

	@LocalManagementPort
	int managementPort;

	@BeforeEach
	void setUp() {
		bedrock.reset();
	}

	@AfterAll
	static void stopBedrock() {
		bedrock.close();
	}

	@Test
	void aConverseResponseCountsItsCamelCaseUsage() {
		String converse = "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"hi\"}]}},"
				+ "\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":30,\"outputTokens\":40,\"totalTokens\":4370,"
				+ "\"cacheReadInputTokens\":4000,\"cacheWriteInputTokens\":300},\"metrics\":{\"latencyMs\":5}}";
		bedrock.then((request, response) -> response.header("Content-Type", "application/json")
			.sendString(Mono.just(converse))
			.then());
		PrometheusText before = tokens();

		byte[] body = post(CLIENT_TOKEN, "/converse");

		assertThat(new String(body, StandardCharsets.UTF_8)).isEqualTo(converse);
		assertCounted(before, POOLED, 30, 40, 4000, 300);
	}

	@Test
	void anInvokeModelStreamCountsItsAnthropicEventsOnceWhereverTheBytesAreCut() {
		byte[] stream = concat(List.of(FakeBedrock.chunk(START), FakeBedrock.chunk(DELTA), FakeBedrock.chunk(STOP)));
		bedrock.then((request, response) -> FakeBedrock.rawEventStream(response,
				List.of(Arrays.copyOfRange(stream, 0, 5), Arrays.copyOfRange(stream, 5, 131),
						Arrays.copyOfRange(stream, 131, stream.length)),
				false));
		PrometheusText before = tokens();

		byte[] body = post(CLIENT_TOKEN, "/invoke-with-response-stream");

		assertThat(body).isEqualTo(stream);
		assertCounted(before, POOLED, 25, 15, 2000, 100);
	}

	@Test
	void anInvokeModelStreamCutMidwayCountsTheMessagesThatArrived() {
		byte[] start = FakeBedrock.chunk(START);
		byte[] halfDelta = Arrays.copyOf(FakeBedrock.chunk(DELTA), 40);
		bedrock.then((request, response) -> FakeBedrock.rawEventStream(response, List.of(start, halfDelta), true));
		PrometheusText before = tokens();

		byte[] body = post(CLIENT_TOKEN, "/invoke-with-response-stream");

		assertThat(Arrays.copyOf(body, start.length)).isEqualTo(start);
		assertThat(new String(body, StandardCharsets.ISO_8859_1)).contains("internalServerException");
		assertCounted(before, POOLED, 25, 1, 2000, 100);
	}

	@Test
	void aConverseStreamCountsItsMetadataEvent() {
		List<byte[]> messages = new ArrayList<>(FakeBedrock.converseStreamMessages().subList(0, 4));
		messages.add(METADATA);
		bedrock.then((request, response) -> FakeBedrock.eventStream(response,
				Flux.fromIterable(messages)));
		PrometheusText before = tokens();

		byte[] body = post(CLIENT_TOKEN, "/converse-stream");

		assertThat(body).isEqualTo(concat(messages));
		assertCounted(before, POOLED, 30, 40, 4000, 300);
	}

	@Test
	void aByokConverseStreamCountsUnderByok() {
		bedrock.then((request, response) -> FakeBedrock.eventStream(response,
				Flux.just(METADATA)));
		PrometheusText before = tokens();

		byte[] body = post(CALLERS_KEY, "/converse-stream");

		assertThat(body).isEqualTo(METADATA);
		assertThat(bedrock.received().get(0).credential()).isEqualTo(CALLERS_KEY);
		assertCounted(before, new String[] { "pool", "bedrock", "key", "byok", "client", "byok" }, 30, 40, 4000, 300);
	}

	private byte[] post(String bearer, String action) {
		return WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + this.port)
			.responseTimeout(Duration.ofSeconds(20))
			.build()
			.post()
			.uri(OPUS + action)
			.header("Authorization", "Bearer " + bearer)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"hi\"}]}]}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.returnResult()
			.getResponseBody();
	}

	private void assertCounted(PrometheusText before, String[] labels, long input, long output, long cacheRead,
			long cacheCreation) {
		// counted when the upstream's response ends, which can be just after the caller read it
		await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
			PrometheusText after = tokens();
			assertThat(delta(before, after, labels, "input")).isEqualTo(input);
			assertThat(delta(before, after, labels, "output")).isEqualTo(output);
			assertThat(delta(before, after, labels, "cache_read")).isEqualTo(cacheRead);
			assertThat(delta(before, after, labels, "cache_creation")).isEqualTo(cacheCreation);
		});
	}

	private PrometheusText tokens() {
		return PrometheusText.tokens(this.managementPort);
	}

	private static double delta(PrometheusText before, PrometheusText after, String[] labels, String type) {
		return after.tokensSince(before, labels, type);
	}

	private static byte[] concat(List<byte[]> parts) {
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		parts.forEach(out::writeBytes);
		return out.toByteArray();
	}

}
