package dev.keypool.demo;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ReactiveHttpOutputMessage;
import org.springframework.web.reactive.function.BodyExtractors;
import org.springframework.web.reactive.function.BodyInserter;
import org.springframework.web.reactive.function.server.RequestPredicates;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;

/**
 * A simulated Anthropic Messages API: the same paths, headers, bodies, SSE events and
 * error shapes as {@code api.anthropic.com}, with a canned reply and keys whose behaviour
 * is scripted ({@link SimulatedKey}).
 * <p>
 * Checks run in this order: credential ({@code x-api-key}, else
 * {@code Authorization: Bearer}) and the key's scripted refusal (revoked, overloaded),
 * then {@code anthropic-version}, then the rate limit, then the body. Every request that
 * presents a known key counts toward that key, whatever the answer, readable through
 * {@link #requestCount(String)}. Only Messages requests ({@code POST /v1/messages}) drive
 * {@link SimulatedKey.Behaviour#RATE_LIMITED_EVERY_NTH}, so listing the models or counting
 * tokens never moves a key's rate-limit cycle.
 * <p>
 * A 429 says when it ends twice over, as the real API does: {@code retry-after} and
 * {@code anthropic-ratelimit-requests-remaining: 0} with its
 * {@code anthropic-ratelimit-requests-reset} at the same instant. Without the reset a
 * gateway's proactive cooldown would fall back to its own default, longer than the wait the
 * 429 announced.
 * <p>
 * Nothing blocks: the body is read reactively and stream deltas are spaced with
 * {@code delayElements}, so virtual time works.
 */
public final class SimulatedAnthropicApi {

	/** The real API's limit for a Messages request; larger bodies get 413. */
	static final int MAX_REQUEST_BYTES = 32 * 1024 * 1024;

	/** How many requests {@link #recordedRequests()} keeps, newest last. */
	static final int RECORDED_REQUESTS_KEPT = 256;

	private static final String REQUEST_ID = "request-id";

	/** Current models, newest first as the real list is; the dates are the demo's, not a reference. */
	private static final List<Model> MODELS = List.of(
			new Model("claude-opus-4-7", "Claude Opus 4.7", "2026-04-16T00:00:00Z"),
			new Model("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17T00:00:00Z"),
			new Model("claude-haiku-4-5", "Claude Haiku 4.5", "2025-10-15T00:00:00Z"));

	private static final char[] ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		.toCharArray();

	private final JsonMapper json = JsonMapper.shared();

	private final Map<String, SimulatedKey> keys;

	private final Map<String, AtomicLong> requestCounts;

	private final Map<String, AtomicLong> messageCounts;

	private final Clock clock;

	private final AtomicLong unknownKeyRequests = new AtomicLong();

	private final Deque<RecordedRequest> recorded = new ArrayDeque<>();

	private final Duration deltaDelay;

	/**
	 * @param keys the keys the upstream accepts (or refuses, per their behaviour); secrets
	 * must be distinct
	 * @param deltaDelay the pause before each {@code content_block_delta} of a stream;
	 * {@link Duration#ZERO} sends them back to back
	 */
	public SimulatedAnthropicApi(List<SimulatedKey> keys, Duration deltaDelay) {
		this(keys, deltaDelay, Clock.systemUTC());
	}

	/**
	 * @param keys the keys the upstream accepts (or refuses, per their behaviour); secrets
	 * must be distinct
	 * @param deltaDelay the pause before each {@code content_block_delta} of a stream;
	 * {@link Duration#ZERO} sends them back to back
	 * @param clock the clock the rate-limit reset announced on a 429 is read from
	 */
	public SimulatedAnthropicApi(List<SimulatedKey> keys, Duration deltaDelay, Clock clock) {
		Objects.requireNonNull(deltaDelay, "deltaDelay");
		Objects.requireNonNull(clock, "clock");
		if (deltaDelay.isNegative()) {
			throw new IllegalArgumentException("deltaDelay must not be negative, was " + deltaDelay);
		}
		Map<String, SimulatedKey> bySecret = new LinkedHashMap<>();
		Map<String, AtomicLong> counts = new LinkedHashMap<>();
		Map<String, AtomicLong> messages = new LinkedHashMap<>();
		for (SimulatedKey key : keys) {
			if (bySecret.putIfAbsent(key.secret(), key) != null) {
				throw new IllegalArgumentException("two simulated keys share a secret (" + key + ")");
			}
			counts.put(key.secret(), new AtomicLong());
			messages.put(key.secret(), new AtomicLong());
		}
		this.keys = Collections.unmodifiableMap(bySecret);
		this.requestCounts = Collections.unmodifiableMap(counts);
		this.messageCounts = Collections.unmodifiableMap(messages);
		this.deltaDelay = deltaDelay;
		this.clock = clock;
	}

	/**
	 * The API under {@code prefix} ({@code ""} for none, else starting with {@code /}):
	 * {@code POST {prefix}/v1/messages}, {@code POST {prefix}/v1/messages/count_tokens},
	 * {@code GET {prefix}/v1/models}; anything else under the prefix is a 404
	 * {@code not_found_error}.
	 */
	public RouterFunction<ServerResponse> routes(String prefix) {
		Objects.requireNonNull(prefix, "prefix");
		if (!prefix.isEmpty() && (!prefix.startsWith("/") || prefix.endsWith("/"))) {
			throw new IllegalArgumentException("prefix must be empty or start, and not end, with '/': " + prefix);
		}
		return RouterFunctions.route()
			.POST(prefix + "/v1/messages", (request) -> serve(request, true, this::messages))
			.POST(prefix + "/v1/messages/count_tokens", (request) -> serve(request, false, this::countTokens))
			.GET(prefix + "/v1/models", (request) -> serve(request, false, this::models))
			.route(RequestPredicates.path(prefix + "/**"),
					(request) -> error(HttpStatus.NOT_FOUND, "not_found_error", "Not Found", newId("req_")))
			.build();
	}

	/** How many requests presented this key (any answer, any endpoint); 0 for an unknown secret. */
	public long requestCount(String secret) {
		AtomicLong count = this.requestCounts.get(secret);
		return (count != null) ? count.get() : 0;
	}

	/** How many requests presented a credential that is not one of the keys. */
	public long unknownKeyRequestCount() {
		return this.unknownKeyRequests.get();
	}

	/**
	 * The last {@value #RECORDED_REQUESTS_KEPT} requests that reached an endpoint, oldest
	 * first.
	 */
	public List<RecordedRequest> recordedRequests() {
		synchronized (this.recorded) {
			return List.copyOf(this.recorded);
		}
	}

	/**
	 * Forgets request counts and recorded requests, so the rate-limit cycle of every key
	 * starts over.
	 */
	public void reset() {
		this.requestCounts.values().forEach((count) -> count.set(0));
		this.messageCounts.values().forEach((count) -> count.set(0));
		this.unknownKeyRequests.set(0);
		synchronized (this.recorded) {
			this.recorded.clear();
		}
	}

	// --- request pipeline -----------------------------------------------------------

	private Mono<ServerResponse> serve(ServerRequest request, boolean message, Endpoint endpoint) {
		String requestId = newId("req_");
		return readBody(request).flatMap((body) -> {
			record(request, body);
			HttpHeaders headers = request.headers().asHttpHeaders();
			Mono<ServerResponse> refusal = admit(headers, message, requestId);
			return (refusal != null) ? refusal : endpoint.handle(body, this.keys.get(credential(headers)), requestId);
		}).onErrorResume(DataBufferLimitException.class, (ex) -> {
			record(request, new byte[0]);
			return error(HttpStatus.PAYLOAD_TOO_LARGE, "request_too_large",
					"Request exceeds the maximum allowed number of bytes.", requestId);
		});
	}

	/** The whole body, read before answering so that no response leaves a request half-read. */
	private static Mono<byte[]> readBody(ServerRequest request) {
		return DataBufferUtils.join(request.body(BodyExtractors.toDataBuffers()), MAX_REQUEST_BYTES)
			.map((buffer) -> {
				try {
					byte[] bytes = new byte[buffer.readableByteCount()];
					buffer.read(bytes);
					return bytes;
				}
				finally {
					DataBufferUtils.release(buffer);
				}
			})
			.defaultIfEmpty(new byte[0]);
	}

	private void record(ServerRequest request, byte[] body) {
		RecordedRequest recordedRequest = new RecordedRequest(request.method().name(), request.path(),
				HttpHeaders.readOnlyHttpHeaders(HttpHeaders.copyOf(request.headers().asHttpHeaders())),
				new String(body, StandardCharsets.UTF_8));
		synchronized (this.recorded) {
			if (this.recorded.size() == RECORDED_REQUESTS_KEPT) {
				this.recorded.removeFirst();
			}
			this.recorded.addLast(recordedRequest);
		}
	}

	/**
	 * The refusal for this request's credential, version or rate limit; null to go on.
	 * {@code message} says whether the request is a Messages request, the only kind the
	 * rate-limit cycle counts.
	 */
	private Mono<ServerResponse> admit(HttpHeaders headers, boolean message, String requestId) {
		String secret = credential(headers);
		if (secret == null) {
			return error(HttpStatus.UNAUTHORIZED, "authentication_error", "x-api-key header is required", requestId);
		}
		SimulatedKey key = this.keys.get(secret);
		if (key == null) {
			this.unknownKeyRequests.incrementAndGet();
			return error(HttpStatus.UNAUTHORIZED, "authentication_error", "invalid x-api-key", requestId);
		}
		this.requestCounts.get(secret).incrementAndGet();
		if (key.behaviour() == SimulatedKey.Behaviour.REVOKED) {
			return error(HttpStatus.UNAUTHORIZED, "authentication_error", "invalid x-api-key", requestId);
		}
		if (key.behaviour() == SimulatedKey.Behaviour.OVERLOADED) {
			return error(HttpStatusCode.valueOf(529), "overloaded_error", "Overloaded", requestId);
		}
		String version = headers.getFirst("anthropic-version");
		if (version == null || version.isBlank()) {
			return error(HttpStatus.BAD_REQUEST, "invalid_request_error", "anthropic-version: header is required",
					requestId);
		}
		if (message && key.isRateLimited(this.messageCounts.get(secret).incrementAndGet())) {
			long retryAfter = key.retryAfterSeconds();
			return ServerResponse.status(HttpStatus.TOO_MANY_REQUESTS)
				.header(REQUEST_ID, requestId)
				.header("retry-after", Long.toString(retryAfter))
				.header("anthropic-ratelimit-requests-remaining", "0")
				.header("anthropic-ratelimit-requests-reset",
						DateTimeFormatter.ISO_INSTANT.format(this.clock.instant().plusSeconds(retryAfter)))
				.contentType(MediaType.APPLICATION_JSON)
				.bodyValue(errorBody("rate_limit_error",
						"This request would exceed the rate limit for your organization. Please retry later.",
						requestId));
		}
		return null;
	}

	static String credential(HttpHeaders headers) {
		String apiKey = headers.getFirst("x-api-key");
		if (apiKey != null && !apiKey.isBlank()) {
			return apiKey.trim();
		}
		String authorization = headers.getFirst(HttpHeaders.AUTHORIZATION);
		if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
			String token = authorization.substring(7).trim();
			return token.isEmpty() ? null : token;
		}
		return null;
	}

	// --- endpoints ------------------------------------------------------------------

	private Mono<ServerResponse> messages(byte[] body, SimulatedKey key, String requestId) {
		JsonNode request = parseObject(body);
		String invalid = (request != null) ? invalidMessagesRequest(request, true) : "Request body is not valid JSON.";
		if (invalid != null) {
			return error(HttpStatus.BAD_REQUEST, "invalid_request_error", invalid, requestId);
		}
		String model = request.get("model").stringValue();
		String reply = reply(lastUserText(request.get("messages")));
		int inputTokens = estimateTokens(promptText(request));
		int outputTokens = estimateTokens(reply);
		String messageId = newId("msg_");
		boolean stream = request.path("stream").isBoolean() && request.path("stream").booleanValue();
		if (stream) {
			return ServerResponse.ok()
				.header(REQUEST_ID, requestId)
				.header(HttpHeaders.CACHE_CONTROL, "no-cache")
				.contentType(MediaType.TEXT_EVENT_STREAM)
				.body(flushEach(streamEvents(messageId, model, reply, inputTokens, outputTokens,
						key.behaviour() == SimulatedKey.Behaviour.STREAM_BREAKS)));
		}
		ObjectNode message = message(messageId, model, inputTokens, outputTokens);
		message.putArray("content").addObject().put("type", "text").put("text", reply);
		message.put("stop_reason", "end_turn");
		return json(HttpStatus.OK, message, requestId);
	}

	private Mono<ServerResponse> countTokens(byte[] body, SimulatedKey key, String requestId) {
		JsonNode request = parseObject(body);
		String invalid = (request != null) ? invalidMessagesRequest(request, false) : "Request body is not valid JSON.";
		if (invalid != null) {
			return error(HttpStatus.BAD_REQUEST, "invalid_request_error", invalid, requestId);
		}
		ObjectNode count = this.json.createObjectNode().put("input_tokens", estimateTokens(promptText(request)));
		return json(HttpStatus.OK, count, requestId);
	}

	private Mono<ServerResponse> models(byte[] body, SimulatedKey key, String requestId) {
		ObjectNode page = this.json.createObjectNode();
		ArrayNode data = page.putArray("data");
		MODELS.forEach((model) -> data.addObject()
			.put("type", "model")
			.put("id", model.id())
			.put("display_name", model.displayName())
			.put("created_at", model.createdAt()));
		page.put("has_more", false);
		page.put("first_id", MODELS.get(0).id());
		page.put("last_id", MODELS.get(MODELS.size() - 1).id());
		return json(HttpStatus.OK, page, requestId);
	}

	// --- streaming --------------------------------------------------------------------

	/**
	 * The SSE frames of one streamed reply, {@code event: <type>\ndata: <json>\n\n} each,
	 * in the real API's order; each {@code content_block_delta} comes after the delta delay.
	 * When {@code breaks}, the frames stop with an error after the first delta, which makes
	 * the server close the connection mid-body.
	 */
	Flux<byte[]> streamEvents(String messageId, String model, String reply, int inputTokens, int outputTokens,
			boolean breaks) {
		ObjectNode start = this.json.createObjectNode().put("type", "message_start");
		start.set("message", message(messageId, model, inputTokens, 1));

		ObjectNode blockStart = this.json.createObjectNode().put("type", "content_block_start").put("index", 0);
		blockStart.putObject("content_block").put("type", "text").put("text", "");

		List<byte[]> deltas = new ArrayList<>();
		for (String chunk : chunks(reply)) {
			ObjectNode delta = this.json.createObjectNode().put("type", "content_block_delta").put("index", 0);
			delta.putObject("delta").put("type", "text_delta").put("text", chunk);
			deltas.add(frame(delta));
		}

		ObjectNode messageDelta = this.json.createObjectNode().put("type", "message_delta");
		messageDelta.putObject("delta").put("stop_reason", "end_turn").putNull("stop_sequence");
		messageDelta.putObject("usage").put("output_tokens", outputTokens);

		Flux<byte[]> head = Flux.just(frame(start), frame(blockStart), frame(this.json.createObjectNode().put("type", "ping")));
		Flux<byte[]> body = Flux.fromIterable(deltas);
		if (!this.deltaDelay.isZero()) {
			body = body.delayElements(this.deltaDelay);
		}
		if (breaks) {
			return Flux.concat(head, body.take(1),
					Flux.error(new IllegalStateException("simulated upstream connection break")));
		}
		Flux<byte[]> tail = Flux.just(
				frame(this.json.createObjectNode().put("type", "content_block_stop").put("index", 0)),
				frame(messageDelta), frame(this.json.createObjectNode().put("type", "message_stop")));
		return Flux.concat(head, body, tail);
	}

	private byte[] frame(ObjectNode event) {
		String frame = "event: " + event.get("type").stringValue() + "\ndata: " + this.json.writeValueAsString(event)
				+ "\n\n";
		return frame.getBytes(StandardCharsets.UTF_8);
	}

	/** Writes each frame as its own buffer and flushes it, as the real API does. */
	private static BodyInserter<Flux<byte[]>, ReactiveHttpOutputMessage> flushEach(Flux<byte[]> frames) {
		return (message, context) -> message.writeAndFlushWith(frames
			.map((bytes) -> Mono.fromSupplier(() -> message.bufferFactory().wrap(bytes))));
	}

	/** A reply in a few word-sized pieces, so a client sees several deltas. */
	private static List<String> chunks(String reply) {
		List<String> chunks = new ArrayList<>();
		String[] words = reply.split("(?<= )");
		StringBuilder chunk = new StringBuilder();
		for (String word : words) {
			chunk.append(word);
			if (chunk.length() >= 12) {
				chunks.add(chunk.toString());
				chunk.setLength(0);
			}
		}
		if (!chunk.isEmpty()) {
			chunks.add(chunk.toString());
		}
		return chunks;
	}

	// --- bodies -------------------------------------------------------------------------

	private ObjectNode message(String messageId, String model, int inputTokens, int outputTokens) {
		ObjectNode message = this.json.createObjectNode()
			.put("id", messageId)
			.put("type", "message")
			.put("role", "assistant")
			.put("model", model);
		message.putArray("content");
		message.putNull("stop_reason");
		message.putNull("stop_sequence");
		message.putObject("usage").put("input_tokens", inputTokens).put("output_tokens", outputTokens);
		return message;
	}

	private JsonNode parseObject(byte[] body) {
		try {
			JsonNode node = this.json.readTree(body);
			return (node != null && node.isObject()) ? node : null;
		}
		catch (JacksonException ex) {
			return null;
		}
	}

	/** The real API's message for the first missing or wrong field, or null when valid. */
	private static String invalidMessagesRequest(JsonNode request, boolean needsMaxTokens) {
		JsonNode model = request.path("model");
		if (!model.isString() || model.stringValue().isBlank()) {
			return "model: Field required";
		}
		JsonNode messages = request.path("messages");
		if (!messages.isArray()) {
			return "messages: Field required";
		}
		if (messages.isEmpty()) {
			return "messages: at least one message is required";
		}
		if (needsMaxTokens) {
			JsonNode maxTokens = request.path("max_tokens");
			if (maxTokens.isMissingNode() || maxTokens.isNull()) {
				return "max_tokens: Field required";
			}
			if (!maxTokens.isIntegralNumber() || !maxTokens.canConvertToInt() || maxTokens.intValue() < 1) {
				return "max_tokens: Input should be a valid positive integer";
			}
		}
		return null;
	}

	private static String reply(String said) {
		String excerpt = said.strip().replaceAll("\\s+", " ");
		if (excerpt.length() > 120) {
			excerpt = excerpt.substring(0, 117) + "...";
		}
		return "Hello from the keypool-gateway demo upstream. You said: " + (excerpt.isEmpty() ? "(nothing)" : excerpt);
	}

	private static String lastUserText(JsonNode messages) {
		for (int i = messages.size() - 1; i >= 0; i--) {
			JsonNode message = messages.get(i);
			if ("user".equals(message.path("role").asString(""))) {
				return text(message.path("content"));
			}
		}
		return "";
	}

	/** Text of a {@code content} that is a string or an array of blocks (text blocks count). */
	private static String text(JsonNode content) {
		if (content.isString()) {
			return content.stringValue();
		}
		StringBuilder text = new StringBuilder();
		if (content.isArray()) {
			for (JsonNode block : content) {
				if (block.path("text").isString()) {
					text.append(text.isEmpty() ? "" : " ").append(block.path("text").stringValue());
				}
			}
		}
		return text.toString();
	}

	/** Everything the model would read: the system prompt and every message's text. */
	private static String promptText(JsonNode request) {
		StringBuilder prompt = new StringBuilder(text(request.path("system")));
		for (JsonNode message : request.path("messages")) {
			prompt.append(text(message.path("content")));
		}
		return prompt.toString();
	}

	/** About four characters a token, at least one. */
	static int estimateTokens(String text) {
		return Math.max(1, (text.length() + 3) / 4);
	}

	private Mono<ServerResponse> json(HttpStatus status, JsonNode body, String requestId) {
		return ServerResponse.status(status)
			.header(REQUEST_ID, requestId)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue(this.json.writeValueAsBytes(body));
	}

	private Mono<ServerResponse> error(HttpStatusCode status, String type, String message, String requestId) {
		return ServerResponse.status(status)
			.header(REQUEST_ID, requestId)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue(errorBody(type, message, requestId));
	}

	private byte[] errorBody(String type, String message, String requestId) {
		ObjectNode body = this.json.createObjectNode().put("type", "error");
		body.putObject("error").put("type", type).put("message", message);
		body.put("request_id", requestId);
		return this.json.writeValueAsBytes(body);
	}

	private static String newId(String prefix) {
		ThreadLocalRandom random = ThreadLocalRandom.current();
		StringBuilder id = new StringBuilder(prefix).append("011C");
		for (int i = 0; i < 20; i++) {
			id.append(ID_ALPHABET[random.nextInt(ID_ALPHABET.length)]);
		}
		return id.toString();
	}

	@FunctionalInterface
	private interface Endpoint {

		/** Answers an admitted request; {@code key} is the known key it presented. */
		Mono<ServerResponse> handle(byte[] body, SimulatedKey key, String requestId);

	}

	private record Model(String id, String displayName, String createdAt) {
	}

}
