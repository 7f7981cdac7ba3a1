package dev.keypool.support;

import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaders;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;
import software.amazon.eventstream.HeaderValue;
import software.amazon.eventstream.Message;

/**
 * A Bedrock runtime endpoint that checks every request's credential the way AWS does: a
 * SigV4 signature is recomputed with the AWS SDK's signer from what was received (method,
 * Host, path, query, the signed headers, the body) and the credential's own secret, and must
 * match; a Bearer token must be a known Bedrock API key. Refusals use AWS's shapes (403
 * {@code UnrecognizedClientException} / {@code InvalidSignatureException}).
 * <p>
 * Accepted requests get scripted answers first, then per-credential throttling, then a
 * default: InvokeModel, InvokeModelWithResponseStream (event-stream chunks of an Anthropic
 * message stream), Converse, ConverseStream and ListInferenceProfiles.
 */
public final class FakeBedrock implements AutoCloseable {

	public static final String TEXT = "hello from bedrock";

	private static final Pattern SIGV4 = Pattern.compile(
			"AWS4-HMAC-SHA256 Credential=([^/]+)/(\\d{8})/([^/]+)/([^/]+)/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)");

	private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
		.withZone(ZoneOffset.UTC);

	private final String region;

	private final Map<String, String[]> credentials = new ConcurrentHashMap<>();

	private final Set<String> apiKeys = ConcurrentHashMap.newKeySet();

	private final Set<String> throttled = ConcurrentHashMap.newKeySet();

	private final ConcurrentLinkedQueue<BiFunction<HttpServerRequest, HttpServerResponse, Publisher<Void>>> script = new ConcurrentLinkedQueue<>();

	private final List<Received> received = new CopyOnWriteArrayList<>();

	private final DisposableServer server;

	/** @param region the region every signature must be scoped to */
	public FakeBedrock(String region) {
		this.region = region;
		this.server = HttpServer.create()
			.host("127.0.0.1")
			.port(0)
			.handle((request, response) -> request.receive()
				.aggregate()
				.asByteArray()
				.defaultIfEmpty(new byte[0])
				.flatMap((body) -> Mono.from(answer(request, response, body))))
			.bindNow();
	}

	public String url() {
		return "http://127.0.0.1:" + this.server.port();
	}

	public FakeBedrock credential(String accessKeyId, String secretAccessKey) {
		this.credentials.put(accessKeyId, new String[] { secretAccessKey, null });
		return this;
	}

	public FakeBedrock sessionCredential(String accessKeyId, String secretAccessKey, String sessionToken) {
		this.credentials.put(accessKeyId, new String[] { secretAccessKey, sessionToken });
		return this;
	}

	public FakeBedrock apiKey(String key) {
		this.apiKeys.add(key);
		return this;
	}

	/** Every request of this credential (access key id or API key) gets a 429 ThrottlingException. */
	public void throttle(String credential) {
		this.throttled.add(credential);
	}

	/** The answer to the next accepted request. */
	public void then(BiFunction<HttpServerRequest, HttpServerResponse, Publisher<Void>> answer) {
		this.script.add(answer);
	}

	public List<Received> received() {
		return List.copyOf(this.received);
	}

	public void reset() {
		this.script.clear();
		this.received.clear();
		this.throttled.clear();
	}

	@Override
	public void close() {
		this.server.disposeNow();
	}

	private Publisher<Void> answer(HttpServerRequest request, HttpServerResponse response, byte[] body) {
		String credential;
		try {
			credential = authenticate(request.method().name(), request.uri(), request.requestHeaders(), body);
		}
		catch (Refused refused) {
			this.received.add(new Received(request.method().name(), request.uri(), request.requestHeaders().copy(),
					new String(body, StandardCharsets.UTF_8), null, refused.type));
			return error(response, 403, refused.type, refused.getMessage());
		}
		this.received.add(new Received(request.method().name(), request.uri(), request.requestHeaders().copy(),
				new String(body, StandardCharsets.UTF_8), credential, null));
		BiFunction<HttpServerRequest, HttpServerResponse, Publisher<Void>> scripted = this.script.poll();
		if (scripted != null) {
			return scripted.apply(request, response);
		}
		if (this.throttled.contains(credential)) {
			return error(response, 429, "ThrottlingException", "Too many requests, please wait before trying again.");
		}
		String path = request.uri().split("\\?", 2)[0];
		if (path.startsWith("/inference-profiles")) {
			return json(response, "{\"inferenceProfileSummaries\":[]}");
		}
		if (path.endsWith("/invoke-with-response-stream")) {
			return eventStream(response, Flux.fromIterable(invokeStreamMessages()));
		}
		if (path.endsWith("/converse-stream")) {
			return eventStream(response, Flux.fromIterable(converseStreamMessages()));
		}
		if (path.endsWith("/converse")) {
			return json(response, "{\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[{\"text\":\"" + TEXT
					+ "\"}]}},\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":3,\"outputTokens\":4,"
					+ "\"totalTokens\":7},\"metrics\":{\"latencyMs\":5}}");
		}
		return json(response, anthropicMessage());
	}

	/** The credential that signed the request, or why it is refused. */
	private String authenticate(String method, String uri, HttpHeaders headers, byte[] body) {
		String authorization = headers.get("authorization");
		if (authorization == null) {
			throw new Refused("MissingAuthenticationTokenException", "Missing Authentication Token");
		}
		if (authorization.startsWith("Bearer ")) {
			String key = authorization.substring(7);
			if (!this.apiKeys.contains(key)) {
				throw new Refused("UnrecognizedClientException", "The security token included in the request is invalid.");
			}
			return key;
		}
		Matcher sigv4 = SIGV4.matcher(authorization);
		if (!sigv4.matches()) {
			throw new Refused("IncompleteSignatureException", "Authorization header is not SigV4");
		}
		String accessKeyId = sigv4.group(1);
		String[] secret = this.credentials.get(accessKeyId);
		if (secret == null) {
			throw new Refused("UnrecognizedClientException", "The security token included in the request is invalid.");
		}
		if (!sigv4.group(3).equals(this.region) || !sigv4.group(4).equals("bedrock")) {
			throw new Refused("InvalidSignatureException", "Credential should be scoped to a valid region and service");
		}
		String expected = expectedAuthorization(method, uri, headers, body, sigv4.group(5).split(";"), accessKeyId,
				secret);
		if (!expected.equals(authorization)) {
			throw new Refused("InvalidSignatureException",
					"The request signature we calculated does not match the signature you provided.");
		}
		return accessKeyId;
	}

	/** The Authorization header the SDK's signer computes from the received request. */
	private String expectedAuthorization(String method, String uri, HttpHeaders headers, byte[] body,
			String[] signedHeaders, String accessKeyId, String[] secret) {
		String[] pathAndQuery = uri.split("\\?", 2);
		String[] host = headers.get("host").split(":", 2);
		SdkHttpRequest.Builder request = SdkHttpRequest.builder()
			.method(SdkHttpMethod.fromValue(method))
			.protocol("http")
			.host(host[0])
			.port((host.length > 1) ? Integer.parseInt(host[1]) : 80)
			.encodedPath(pathAndQuery[0]);
		if (pathAndQuery.length > 1) {
			for (String pair : pathAndQuery[1].split("&")) {
				String[] nameValue = pair.split("=", 2);
				request.appendRawQueryParameter(decode(nameValue[0]), (nameValue.length > 1) ? decode(nameValue[1]) : "");
			}
		}
		for (String name : signedHeaders) {
			if (!name.equals("host")) {
				request.putHeader(name, headers.getAll(name));
			}
		}
		String sessionToken = secret[1];
		if (sessionToken != null && !sessionToken.equals(headers.get("x-amz-security-token"))) {
			throw new Refused("UnrecognizedClientException", "The security token included in the request is invalid.");
		}
		Instant signedAt = AMZ_DATE.parse(headers.get("x-amz-date"), Instant::from);
		AwsCredentialsIdentity identity = (sessionToken != null)
				? AwsSessionCredentialsIdentity.create(accessKeyId, secret[0], sessionToken)
				: AwsCredentialsIdentity.create(accessKeyId, secret[0]);
		return AwsV4HttpSigner.create()
			.sign((sign) -> sign.identity(identity)
				.request(request.build())
				.payload(() -> new java.io.ByteArrayInputStream(body))
				.putProperty(AwsV4FamilyHttpSigner.SERVICE_SIGNING_NAME, "bedrock")
				.putProperty(AwsV4HttpSigner.REGION_NAME, this.region)
				.putProperty(HttpSigner.SIGNING_CLOCK, Clock.fixed(signedAt, ZoneOffset.UTC)))
			.request()
			.firstMatchingHeader("Authorization")
			.orElseThrow();
	}

	private static String decode(String value) {
		return URLDecoder.decode(value.replace("+", "%2B"), StandardCharsets.UTF_8);
	}

	public static Publisher<Void> error(HttpServerResponse response, int status, String type, String message) {
		return response.status(status)
			.header("Content-Type", "application/json")
			.header("x-amzn-ErrorType", type + ":http://internal.amazon.com/coral/com.amazon.bedrock/")
			.sendString(Mono.just("{\"message\":\"" + message + "\"}"))
			.then();
	}

	private static Publisher<Void> json(HttpServerResponse response, String body) {
		return response.header("Content-Type", "application/json").sendString(Mono.just(body)).then();
	}

	/** Each message written and flushed on its own. */
	public static Publisher<Void> eventStream(HttpServerResponse response, Flux<byte[]> messages) {
		return response.header("Content-Type", "application/vnd.amazon.eventstream")
			.sendObject(messages.map(Unpooled::wrappedBuffer))
			.then();
	}

	/** Bytes as given (messages split or joined at will), then the connection fails if {@code breakAfter}. */
	public static Publisher<Void> rawEventStream(HttpServerResponse response, List<byte[]> chunks, boolean breakAfter) {
		Flux<ByteBuf> body = Flux.fromIterable(chunks).map(Unpooled::wrappedBuffer);
		if (breakAfter) {
			body = body.concatWith(Flux.error(new IllegalStateException("simulated connection drop")));
		}
		return response.header("Content-Type", "application/vnd.amazon.eventstream").send(body).then();
	}

	public static String anthropicMessage() {
		return "{\"id\":\"msg_bedrock\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-opus-4-7\","
				+ "\"content\":[{\"type\":\"text\",\"text\":\"" + TEXT + "\"}],\"stop_reason\":\"end_turn\","
				+ "\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}";
	}

	/** The chunks of InvokeModelWithResponseStream: an Anthropic message stream, one event per chunk. */
	public static List<byte[]> invokeStreamMessages() {
		List<byte[]> messages = new ArrayList<>();
		for (String event : List.of(
				"{\"type\":\"message_start\",\"message\":{\"id\":\"msg_bedrock\",\"type\":\"message\",\"role\":\"assistant\","
						+ "\"model\":\"claude-opus-4-7\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"
						+ "\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}",
				"{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
				"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"" + TEXT + "\"}}",
				"{\"type\":\"content_block_stop\",\"index\":0}",
				"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
						+ "\"usage\":{\"output_tokens\":4}}",
				"{\"type\":\"message_stop\",\"amazon-bedrock-invocationMetrics\":{\"inputTokenCount\":3,"
						+ "\"outputTokenCount\":4,\"invocationLatency\":5,\"firstByteLatency\":2}}")) {
			messages.add(chunk(event));
		}
		return messages;
	}

	/** One InvokeModelWithResponseStream chunk event carrying {@code json}. */
	public static byte[] chunk(String json) {
		String payload = "{\"bytes\":\"" + Base64.getEncoder().encodeToString(json.getBytes(StandardCharsets.UTF_8))
				+ "\",\"p\":\"abcdefgh\"}";
		return event("chunk", payload);
	}

	public static List<byte[]> converseStreamMessages() {
		return List.of(event("messageStart", "{\"role\":\"assistant\",\"p\":\"a\"}"),
				event("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\"" + TEXT + "\"},\"p\":\"a\"}"),
				event("contentBlockStop", "{\"contentBlockIndex\":0,\"p\":\"a\"}"),
				event("messageStop", "{\"stopReason\":\"end_turn\",\"p\":\"a\"}"),
				event("metadata", "{\"usage\":{\"inputTokens\":3,\"outputTokens\":4,\"totalTokens\":7},"
						+ "\"metrics\":{\"latencyMs\":5},\"p\":\"a\"}"));
	}

	public static byte[] event(String type, String payload) {
		Map<String, HeaderValue> headers = new LinkedHashMap<>();
		headers.put(":event-type", HeaderValue.fromString(type));
		headers.put(":content-type", HeaderValue.fromString("application/json"));
		headers.put(":message-type", HeaderValue.fromString("event"));
		ByteBuffer encoded = new Message(headers, payload.getBytes(StandardCharsets.UTF_8)).toByteBuffer();
		byte[] bytes = new byte[encoded.remaining()];
		encoded.get(bytes);
		return bytes;
	}

	/**
	 * What the endpoint received.
	 *
	 * @param credential the access key id or API key that signed it, {@code null} when refused
	 * @param refusal the error type it was refused with, or {@code null}
	 */
	public record Received(String method, String uri, HttpHeaders headers, String body, String credential,
			String refusal) {

	}

	private static final class Refused extends RuntimeException {

		private final String type;

		Refused(String type, String message) {
			super(message, null, false, false);
			this.type = type;
		}

	}

}
