package dev.keypool.demo;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.test.StepVerifier;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;

class SimulatedAnthropicApiTests {

	private static final String PREFIX = "/demo-upstream";

	private static final String OK_KEY = "sk-test-ok";

	private static final String REVOKED_KEY = "sk-test-revoked";

	private static final String LIMITED_KEY = "sk-test-limited";

	private static final String OVERLOADED_KEY = "sk-test-overloaded";

	private static final String HELLO = """
			{"model":"claude-sonnet-4-6","max_tokens":256,
			 "messages":[{"role":"user","content":"Hi there"}]}""";

	private static final String HELLO_STREAM = """
			{"model":"claude-sonnet-4-6","max_tokens":256,"stream":true,
			 "messages":[{"role":"user","content":[{"type":"text","text":"Hi there"}]}]}""";

	private final SimulatedAnthropicApi api = new SimulatedAnthropicApi(List.of(SimulatedKey.ok(OK_KEY),
			SimulatedKey.revoked(REVOKED_KEY), SimulatedKey.rateLimitedEvery(LIMITED_KEY, 3, Duration.ofSeconds(10)),
			SimulatedKey.overloaded(OVERLOADED_KEY)), Duration.ZERO);

	private final WebTestClient client = WebTestClient.bindToRouterFunction(this.api.routes(PREFIX)).build();

	@Test
	void blockingMessageHasTheRealShapeAndEchoesTheLastUserMessage() {
		EntityExchangeResult<byte[]> result = post("/v1/messages", OK_KEY, HELLO);

		assertThat(result.getStatus()).isEqualTo(HttpStatus.OK);
		assertThat(result.getResponseHeaders().getContentType()).isEqualTo(MediaType.APPLICATION_JSON);
		assertThat(result.getResponseHeaders().getFirst("request-id")).startsWith("req_");
		JsonNode message = json(result);
		assertThat(message.get("id").stringValue()).startsWith("msg_");
		assertThat(message.get("type").stringValue()).isEqualTo("message");
		assertThat(message.get("role").stringValue()).isEqualTo("assistant");
		assertThat(message.get("model").stringValue()).isEqualTo("claude-sonnet-4-6");
		assertThat(message.get("content")).hasSize(1);
		assertThat(message.at("/content/0/type").stringValue()).isEqualTo("text");
		assertThat(message.at("/content/0/text").stringValue())
			.isEqualTo("Hello from the keypool-gateway demo upstream. You said: Hi there");
		assertThat(message.get("stop_reason").stringValue()).isEqualTo("end_turn");
		assertThat(message.get("stop_sequence").isNull()).isTrue();
		assertThat(message.at("/usage/input_tokens").intValue()).isPositive();
		assertThat(message.at("/usage/output_tokens").intValue()).isPositive();
	}

	@Test
	void streamingSendsTheRealEventSequenceEachWithMatchingJsonData() {
		EntityExchangeResult<byte[]> result = post("/v1/messages", OK_KEY, HELLO_STREAM);

		assertThat(result.getStatus()).isEqualTo(HttpStatus.OK);
		assertThat(result.getResponseHeaders().getContentType().isCompatibleWith(MediaType.TEXT_EVENT_STREAM))
			.isTrue();
		List<Event> events = events(result);
		List<String> types = events.stream().map(Event::type).toList();
		assertThat(types).startsWith("message_start", "content_block_start", "ping", "content_block_delta")
			.endsWith("content_block_delta", "content_block_stop", "message_delta", "message_stop");
		assertThat(types.stream().filter("content_block_delta"::equals).count()).isGreaterThan(2);
		assertThat(events).allSatisfy((event) -> assertThat(event.data().get("type").stringValue())
			.isEqualTo(event.type()));
	}

	@Test
	void streamedEventsCarryTheMessageTheTextAndTheUsage() {
		List<Event> events = events(post("/v1/messages", OK_KEY, HELLO_STREAM));

		JsonNode start = events.get(0).data().get("message");
		assertThat(start.get("id").stringValue()).startsWith("msg_");
		assertThat(start.get("model").stringValue()).isEqualTo("claude-sonnet-4-6");
		assertThat(start.get("content")).isEmpty();
		assertThat(start.get("stop_reason").isNull()).isTrue();
		assertThat(events.get(1).data().at("/content_block/type").stringValue()).isEqualTo("text");
		String text = events.stream()
			.filter((event) -> event.type().equals("content_block_delta"))
			.peek((event) -> assertThat(event.data().at("/delta/type").stringValue()).isEqualTo("text_delta"))
			.map((event) -> event.data().at("/delta/text").stringValue())
			.reduce("", String::concat);
		assertThat(text).isEqualTo("Hello from the keypool-gateway demo upstream. You said: Hi there");
		JsonNode messageDelta = events.get(events.size() - 2).data();
		assertThat(messageDelta.at("/delta/stop_reason").stringValue()).isEqualTo("end_turn");
		assertThat(messageDelta.at("/usage/output_tokens").intValue()).isPositive();
	}

	@Test
	void streamDeltasAreSpacedByTheDeltaDelay() {
		SimulatedAnthropicApi slow = new SimulatedAnthropicApi(List.of(), Duration.ofMillis(20));
		String reply = "one two three four five six seven eight nine ten";

		StepVerifier.withVirtualTime(() -> slow.streamEvents("msg_1", "m", reply, 1, 1, false))
			.expectSubscription()
			.expectNextCount(3)
			.expectNoEvent(Duration.ofMillis(19))
			.thenAwait(Duration.ofMillis(1))
			.expectNextCount(1)
			.expectNoEvent(Duration.ofMillis(19))
			.thenAwait(Duration.ofMinutes(1))
			.thenConsumeWhile((frame) -> true)
			.verifyComplete();
	}

	@Test
	void countTokensEstimatesAboutFourCharactersPerToken() {
		String body = """
				{"model":"claude-sonnet-4-6","system":"abcd",
				 "messages":[{"role":"user","content":"efghijkl"}]}""";

		EntityExchangeResult<byte[]> result = post("/v1/messages/count_tokens", OK_KEY, body);

		assertThat(result.getStatus()).isEqualTo(HttpStatus.OK);
		assertThat(json(result).properties()).hasSize(1);
		assertThat(json(result).get("input_tokens").intValue()).isEqualTo(3);
	}

	@Test
	void modelsListHasTheRealPageShape() {
		EntityExchangeResult<byte[]> result = this.client.get()
			.uri(PREFIX + "/v1/models")
			.header("x-api-key", OK_KEY)
			.header("anthropic-version", "2023-06-01")
			.exchange()
			.expectBody(byte[].class)
			.returnResult();

		assertThat(result.getStatus()).isEqualTo(HttpStatus.OK);
		JsonNode page = json(result);
		assertThat(page.get("data")).isNotEmpty().allSatisfy((model) -> {
			assertThat(model.get("type").stringValue()).isEqualTo("model");
			assertThat(model.get("id").stringValue()).startsWith("claude-");
			assertThat(model.get("display_name").stringValue()).startsWith("Claude ");
			assertThat(model.get("created_at").stringValue()).endsWith("Z");
		});
		assertThat(page.at("/data/0/id").stringValue()).isEqualTo(page.get("first_id").stringValue());
		assertThat(page.get("has_more").booleanValue()).isFalse();
		assertThat(page.get("last_id").isString()).isTrue();
		assertThat(page.get("data").valueStream().map((model) -> model.get("id").stringValue()))
			.contains("claude-sonnet-4-6");
	}

	@ParameterizedTest(name = "every {0}. request is refused")
	@ValueSource(ints = { 1, 2, 3 })
	void everyNthRequestWithARateLimitedKeyGets429WithRetryAfter(int n) {
		Clock clock = Clock.fixed(Instant.parse("2026-12-01T10:00:00Z"), ZoneOffset.UTC);
		SimulatedAnthropicApi limited = new SimulatedAnthropicApi(
				List.of(SimulatedKey.rateLimitedEvery("k", n, Duration.ofMillis(2500))), Duration.ZERO, clock);
		WebTestClient limitedClient = WebTestClient.bindToRouterFunction(limited.routes("")).build();

		List<Integer> statuses = new ArrayList<>();
		List<EntityExchangeResult<byte[]>> refused = new ArrayList<>();
		for (int i = 1; i <= 2 * n; i++) {
			EntityExchangeResult<byte[]> result = post(limitedClient, "/v1/messages", "k", HELLO);
			statuses.add(result.getStatus().value());
			if (result.getStatus().value() == 429) {
				refused.add(result);
			}
		}

		List<Integer> expected = IntStream.rangeClosed(1, 2 * n).mapToObj((i) -> (i % n == 0) ? 429 : 200).toList();
		assertThat(statuses).isEqualTo(expected);
		assertThat(refused).allSatisfy((result) -> {
			assertError(result, 429, "rate_limit_error");
			assertThat(result.getResponseHeaders().getFirst("retry-after")).isEqualTo("3");
			assertThat(result.getResponseHeaders().getFirst("anthropic-ratelimit-requests-remaining")).isEqualTo("0");
			// the used-up requests come back when retry-after says, not at some default later
			assertThat(result.getResponseHeaders().getFirst("anthropic-ratelimit-requests-reset"))
				.isEqualTo("2026-12-01T10:00:03Z");
		});
	}

	@Test
	void onlyMessagesRequestsMoveTheRateLimitCycle() {
		this.client.get()
			.uri(PREFIX + "/v1/models")
			.header("x-api-key", LIMITED_KEY)
			.header("anthropic-version", "2023-06-01")
			.exchange()
			.expectStatus()
			.isOk();
		assertThat(post("/v1/messages/count_tokens", LIMITED_KEY, HELLO).getStatus()).isEqualTo(HttpStatus.OK);

		List<Integer> statuses = new ArrayList<>();
		for (int i = 0; i < 3; i++) {
			statuses.add(post("/v1/messages", LIMITED_KEY, HELLO).getStatus().value());
		}

		assertThat(statuses).containsExactly(200, 200, 429);
		assertThat(this.api.requestCount(LIMITED_KEY)).isEqualTo(5);
	}

	@ParameterizedTest(name = "{0}")
	@CsvSource(delimiter = '|', textBlock = """
			revoked key        | x-api-key     | sk-test-revoked        | invalid x-api-key
			unknown key        | x-api-key     | sk-test-nobody         | invalid x-api-key
			unknown bearer     | Authorization | Bearer sk-test-nobody  | invalid x-api-key
			blank key          | x-api-key     | ' '                    | x-api-key header is required
			""")
	void badCredentialsGet401AuthenticationError(String description, String header, String value, String message) {
		EntityExchangeResult<byte[]> result = this.client.post()
			.uri(PREFIX + "/v1/messages")
			.header(header, value)
			.header("anthropic-version", "2023-06-01")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue(HELLO)
			.exchange()
			.expectBody(byte[].class)
			.returnResult();

		assertError(result, 401, "authentication_error");
		assertThat(json(result).at("/error/message").stringValue()).isEqualTo(message);
	}

	@Test
	void missingCredentialGets401AuthenticationError() {
		EntityExchangeResult<byte[]> result = this.client.post()
			.uri(PREFIX + "/v1/messages")
			.header("anthropic-version", "2023-06-01")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue(HELLO)
			.exchange()
			.expectBody(byte[].class)
			.returnResult();

		assertError(result, 401, "authentication_error");
	}

	@Test
	void bearerTokenIsAcceptedAsTheCredential() {
		EntityExchangeResult<byte[]> result = this.client.post()
			.uri(PREFIX + "/v1/messages")
			.header("Authorization", "Bearer " + OK_KEY)
			.header("anthropic-version", "2023-06-01")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue(HELLO)
			.exchange()
			.expectBody(byte[].class)
			.returnResult();

		assertThat(result.getStatus()).isEqualTo(HttpStatus.OK);
	}

	@Test
	void overloadedKeyGets529OverloadedError() {
		assertError(post("/v1/messages", OVERLOADED_KEY, HELLO), 529, "overloaded_error");
	}

	@Test
	void missingAnthropicVersionGets400InvalidRequestError() {
		EntityExchangeResult<byte[]> result = this.client.post()
			.uri(PREFIX + "/v1/messages")
			.header("x-api-key", OK_KEY)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue(HELLO)
			.exchange()
			.expectBody(byte[].class)
			.returnResult();

		assertError(result, 400, "invalid_request_error");
		assertThat(json(result).at("/error/message").stringValue()).contains("anthropic-version");
	}

	@ParameterizedTest(name = "{0}")
	@CsvSource(delimiter = '|', textBlock = """
			malformed JSON     | {"model":                                                          | not valid JSON
			empty body         | ''                                                                 | not valid JSON
			not an object      | [1,2]                                                              | not valid JSON
			missing model      | {"max_tokens":1,"messages":[{"role":"user","content":"x"}]}        | model: Field required
			missing messages   | {"model":"m","max_tokens":1}                                       | messages: Field required
			empty messages     | {"model":"m","max_tokens":1,"messages":[]}                         | messages: at least one message
			missing max_tokens | {"model":"m","messages":[{"role":"user","content":"x"}]}           | max_tokens: Field required
			zero max_tokens    | {"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]} | max_tokens: Input should be
			""")
	void invalidMessagesBodyGets400InvalidRequestError(String description, String body, String message) {
		EntityExchangeResult<byte[]> result = post("/v1/messages", OK_KEY, body);

		assertError(result, 400, "invalid_request_error");
		assertThat(json(result).at("/error/message").stringValue()).contains(message);
	}

	@Test
	void countTokensDoesNotNeedMaxTokensButNeedsMessages() {
		assertThat(post("/v1/messages/count_tokens", OK_KEY, """
				{"model":"m","messages":[{"role":"user","content":"x"}]}""").getStatus()).isEqualTo(HttpStatus.OK);
		assertError(post("/v1/messages/count_tokens", OK_KEY, "{\"model\":\"m\"}"), 400, "invalid_request_error");
	}

	@Test
	void bodyOverTheRealLimitGets413RequestTooLarge() {
		byte[] huge = new byte[SimulatedAnthropicApi.MAX_REQUEST_BYTES + 1];

		EntityExchangeResult<byte[]> result = this.client.post()
			.uri(PREFIX + "/v1/messages")
			.header("x-api-key", OK_KEY)
			.header("anthropic-version", "2023-06-01")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue(huge)
			.exchange()
			.expectBody(byte[].class)
			.returnResult();

		assertError(result, 413, "request_too_large");
	}

	@Test
	void unknownPathUnderThePrefixGets404NotFoundError() {
		EntityExchangeResult<byte[]> result = this.client.get()
			.uri(PREFIX + "/v1/nothing-here")
			.exchange()
			.expectBody(byte[].class)
			.returnResult();

		assertError(result, 404, "not_found_error");
	}

	@Test
	void everyRequestThatPresentsAKnownKeyIsCountedWhateverTheAnswer() {
		post("/v1/messages", OK_KEY, HELLO);
		post("/v1/messages", OK_KEY, "{not json");
		post("/v1/messages", REVOKED_KEY, HELLO);
		post("/v1/messages", "sk-test-nobody", HELLO);

		assertThat(this.api.requestCount(OK_KEY)).isEqualTo(2);
		assertThat(this.api.requestCount(REVOKED_KEY)).isEqualTo(1);
		assertThat(this.api.requestCount(LIMITED_KEY)).isZero();
		assertThat(this.api.requestCount("sk-test-nobody")).isZero();
		assertThat(this.api.unknownKeyRequestCount()).isEqualTo(1);
	}

	@Test
	void resetStartsTheRateLimitCycleOver() {
		post("/v1/messages", LIMITED_KEY, HELLO);
		post("/v1/messages", LIMITED_KEY, HELLO);

		this.api.reset();

		assertThat(this.api.requestCount(LIMITED_KEY)).isZero();
		assertThat(post("/v1/messages", LIMITED_KEY, HELLO).getStatus()).isEqualTo(HttpStatus.OK);
		assertThat(this.api.recordedRequests()).hasSize(1);
	}

	@Test
	void recordedRequestKeepsWhatTheUpstreamReceived() {
		this.client.post()
			.uri(PREFIX + "/v1/messages")
			.header("x-api-key", OK_KEY)
			.header("anthropic-version", "2023-06-01")
			.header("anthropic-beta", "demo-beta")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue(HELLO)
			.exchange()
			.expectStatus()
			.isOk();

		assertThat(this.api.recordedRequests()).singleElement().satisfies((request) -> {
			assertThat(request.method()).isEqualTo("POST");
			assertThat(request.path()).isEqualTo(PREFIX + "/v1/messages");
			assertThat(request.credential()).isEqualTo(OK_KEY);
			assertThat(request.headers().getFirst("anthropic-beta")).isEqualTo("demo-beta");
			assertThat(request.body()).isEqualTo(HELLO);
		});
	}

	// --- helpers ---------------------------------------------------------------------

	private EntityExchangeResult<byte[]> post(String path, String key, String body) {
		return post(this.client, PREFIX + path, key, body);
	}

	private static EntityExchangeResult<byte[]> post(WebTestClient client, String path, String key, String body) {
		return client.post()
			.uri(path)
			.header("x-api-key", key)
			.header("anthropic-version", "2023-06-01")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue(body.getBytes(StandardCharsets.UTF_8))
			.exchange()
			.expectBody(byte[].class)
			.returnResult();
	}

	private static void assertError(EntityExchangeResult<byte[]> result, int status, String type) {
		assertThat(result.getStatus().value()).isEqualTo(status);
		assertThat(result.getResponseHeaders().getContentType()).isEqualTo(MediaType.APPLICATION_JSON);
		assertThat(result.getResponseHeaders().getFirst("request-id")).startsWith("req_");
		JsonNode error = json(result);
		assertThat(error.get("type").stringValue()).isEqualTo("error");
		assertThat(error.at("/error/type").stringValue()).isEqualTo(type);
		assertThat(error.at("/error/message").stringValue()).isNotBlank();
	}

	private static JsonNode json(EntityExchangeResult<byte[]> result) {
		return JsonMapper.shared().readTree(result.getResponseBody());
	}

	/** Splits an SSE body into frames, asserting each is exactly {@code event:} then {@code data:}. */
	static List<Event> events(EntityExchangeResult<byte[]> result) {
		String body = new String(result.getResponseBody(), StandardCharsets.UTF_8);
		assertThat(body).endsWith("\n\n");
		List<Event> events = new ArrayList<>();
		for (String frame : body.substring(0, body.length() - 2).split("\n\n", -1)) {
			String[] lines = frame.split("\n", -1);
			assertThat(lines).hasSize(2);
			assertThat(lines[0]).startsWith("event: ");
			assertThat(lines[1]).startsWith("data: ");
			events.add(new Event(lines[0].substring(7), JsonMapper.shared().readTree(lines[1].substring(6))));
		}
		return events;
	}

	record Event(String type, JsonNode data) {
	}

}
