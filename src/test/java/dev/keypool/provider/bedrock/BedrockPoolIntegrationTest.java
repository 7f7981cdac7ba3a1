package dev.keypool.provider.bedrock;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.eventstream.Message;
import software.amazon.eventstream.MessageDecoder;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyStatus;
import dev.keypool.support.FakeBedrock;
import dev.keypool.support.GatewayTestProperties;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bedrock pools through real HTTP, against an endpoint that verifies every SigV4 signature
 * with the AWS SDK's signer: each attempt is signed for its key, throttling fails over, a
 * refused credential is disabled, and the gateway's own errors and stream endings are
 * Bedrock's.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class BedrockPoolIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-bedrock-0001";

	static final String OPUS = "/model/anthropic.claude-opus-4-7-v1:0";

	static final String A1 = "AKIAFAKEACCOUNTA0001";

	static final String A2 = "ASIAFAKEACCOUNTB0002";

	static final String BAD = "AKIAFAKEACCOUNTC0003";

	static final String API_KEY = "bedrock-api-key-0123456789";

	static final FakeBedrock bedrock = new FakeBedrock("us-east-1").credential(A1, "secret-a1-0123456789abcdef")
		.sessionCredential(A2, "secret-a2-0123456789abcdef", "session-token-a2")
		.credential(BAD, "the-real-secret-of-c3")
		.apiKey(API_KEY);

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties properties = GatewayTestProperties.on(registry).client("team-b", CLIENT_TOKEN);
		bedrockPool(properties, "bedrock");
		awsKey(properties, "bedrock", 0, "a1", A1, "secret-a1-0123456789abcdef", null);
		awsKey(properties, "bedrock", 1, "a2", A2, "secret-a2-0123456789abcdef", "session-token-a2");
		properties.set("keypool.pools.bedrock.keys[2].id", "api").set("keypool.pools.bedrock.keys[2].secret", API_KEY);
		bedrockPool(properties, "mixed");
		awsKey(properties, "mixed", 0, "stale", BAD, "a-secret-that-aws-does-not-know", null);
		awsKey(properties, "mixed", 1, "a1", A1, "secret-a1-0123456789abcdef", null);
		bedrockPool(properties, "refused");
		awsKey(properties, "refused", 0, "unknown", "AKIAFAKEUNKNOWN00009", "secret-unknown-0123456789", null);
		properties.route("bedrock", bedrock::url, "/model/**,/inference-profiles", "KeyFailover=bedrock")
			.route("mixed", bedrock::url, "/mixed/**", "StripPrefix=1", "KeyFailover=mixed")
			.route("refused", bedrock::url, "/refused/**", "StripPrefix=1", "KeyFailover=refused");
	}

	static void bedrockPool(GatewayTestProperties properties, String pool) {
		properties.set("keypool.pools." + pool + ".provider", "bedrock");
	}

	static void awsKey(GatewayTestProperties properties, String pool, int index, String id, String accessKeyId,
			String secretAccessKey, String sessionToken) {
		String key = "keypool.pools." + pool + ".keys[" + index + "].";
		properties.set(key + "id", id)
			.set(key + "access-key-id", accessKeyId)
			.set(key + "secret-access-key", secretAccessKey)
			.set(key + "region", "us-east-1");
		if (sessionToken != null) {
			properties.set(key + "session-token", sessionToken);
		}
	}

	@LocalServerPort
	int port;

	@LocalManagementPort
	int managementPort;

	@Autowired
	KeyPools pools;

	WebTestClient client;

	@BeforeEach
	void setUp() {
		bedrock.reset();
		for (KeyPool pool : this.pools.all()) {
			pool.keys().forEach(pool::reset);
		}
		this.client = WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + this.port)
			.responseTimeout(Duration.ofSeconds(20))
			.build();
	}

	@AfterAll
	static void stopBedrock() {
		bedrock.close();
	}

	@Test
	void eachAttemptIsSignedForItsKeyAndAThrottledCredentialFailsOverToTheNext() {
		bedrock.throttle(A1);

		this.client.post()
			.uri(OPUS + "/invoke")
			.header("Authorization", "Bearer " + CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":5,\"messages\":[]}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.valueEquals("X-Keypool-Key", "a2")
			.expectHeader()
			.valueEquals("X-Keypool-Attempts", "2")
			.expectBody(String.class)
			.isEqualTo(FakeBedrock.anthropicMessage());

		assertThat(bedrock.received()).extracting(FakeBedrock.Received::credential).containsExactly(A1, A2);
		assertThat(bedrock.received()).allSatisfy((received) -> {
			assertThat(received.refusal()).isNull();
			assertThat(received.body()).contains("bedrock-2023-05-31");
			assertThat(received.headers().toString()).doesNotContain(CLIENT_TOKEN);
		});
		KeyPool pool = this.pools.get("bedrock").orElseThrow();
		assertThat(cooledClasses(pool, 0)).containsExactly("opus");
	}

	@Test
	void aCredentialTheProviderRefusesIsDisabledAndTheNextKeyServes() {
		this.client.post()
			.uri("/mixed" + OPUS + "/converse")
			.header("x-api-key", CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"hi\"}]}]}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.valueEquals("X-Keypool-Key", "a1")
			.expectBody(String.class)
			.value((body) -> assertThat(body).contains(FakeBedrock.TEXT));

		assertThat(bedrock.received()).extracting(FakeBedrock.Received::refusal)
			.containsExactly("InvalidSignatureException", null);
		KeyPool pool = this.pools.get("mixed").orElseThrow();
		assertThat(pool.status(pool.keys().get(0))).isEqualTo(KeyStatus.DISABLED);
	}

	@Test
	void aSignedGetKeepsItsQueryString() {
		this.client.get()
			.uri(exactly("/inference-profiles?type=SYSTEM_DEFINED&maxResults=20&nextToken=a%2Fb%3D%3D"))
			.header("Authorization", "Bearer " + CLIENT_TOKEN)
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.valueEquals("X-Keypool-Key", "a1")
			.expectBody(String.class)
			.isEqualTo("{\"inferenceProfileSummaries\":[]}");

		assertThat(bedrock.received()).singleElement().satisfies((received) -> {
			assertThat(received.credential()).isEqualTo(A1);
			assertThat(received.uri()).isEqualTo("/inference-profiles?type=SYSTEM_DEFINED&maxResults=20&nextToken=a%2Fb%3D%3D");
		});
	}

	@Test
	void anInferenceProfileArnIsSignedAndRoutedAsItsModel() {
		String arn = "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-haiku-4-5-20251001-v1%3A0";
		bedrock.throttle(A1);

		this.client.post()
			.uri(exactly("/model/" + arn + "/invoke"))
			.header("Authorization", "Bearer " + CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.consumeWith((result) -> assertThat(result.getResponseBody()).isNotEmpty());

		assertThat(bedrock.received()).extracting(FakeBedrock.Received::uri)
			.containsOnly("/model/" + arn + "/invoke");
		KeyPool pool = this.pools.get("bedrock").orElseThrow();
		assertThat(cooledClasses(pool, 0)).containsExactly("haiku");
	}

	@Test
	void aBedrockApiKeyIsSentAsABearerToken() {
		bedrock.throttle(A1);
		bedrock.throttle(A2);

		this.client.post()
			.uri(OPUS + "/invoke")
			.header("Authorization", "Bearer " + CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.valueEquals("X-Keypool-Key", "api")
			.expectBody()
			.consumeWith((result) -> assertThat(result.getResponseBody()).isNotEmpty());

		assertThat(bedrock.received()).last().satisfies((received) -> {
			assertThat(received.credential()).isEqualTo(API_KEY);
			assertThat(received.headers().get("x-amz-date")).isNull();
		});
	}

	@Test
	void everyKeyThrottledIsA429ThrottlingExceptionWithRetryAfter() {
		bedrock.throttle(A1);
		bedrock.throttle(A2);
		bedrock.throttle(API_KEY);

		this.client.post()
			.uri(OPUS + "/invoke")
			.header("Authorization", "Bearer " + CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{}")
			.exchange()
			.expectStatus()
			.isEqualTo(429)
			.expectHeader()
			.valueEquals("x-amzn-ErrorType", "ThrottlingException")
			.expectHeader()
			.valueEquals("Retry-After", "60")
			.expectBody(String.class)
			.isEqualTo("{\"message\":\"all configured keys are rate-limited\"}");
	}

	@Test
	void everyKeyRefusedIsA502InBedrockShape() {
		this.client.post()
			.uri("/refused" + OPUS + "/invoke")
			.header("Authorization", "Bearer " + CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{}")
			.exchange()
			.expectStatus()
			.isEqualTo(502)
			.expectHeader()
			.valueEquals("x-amzn-ErrorType", "InternalServerException")
			.expectBody(String.class)
			.isEqualTo("{\"message\":\"all configured keys failed authentication\"}");

		assertThat(bedrock.received()).extracting(FakeBedrock.Received::refusal)
			.containsExactly("UnrecognizedClientException");
	}

	@Test
	void aCallerWithoutAClientTokenGetsABedrockShaped401() {
		this.client.post()
			.uri(OPUS + "/invoke")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{}")
			.exchange()
			.expectStatus()
			.isUnauthorized()
			.expectHeader()
			.valueEquals("x-amzn-ErrorType", "UnrecognizedClientException")
			.expectBody(String.class)
			.value((body) -> assertThat(body).startsWith("{\"message\":"));
		assertThat(bedrock.received()).isEmpty();
	}

	@Test
	void aCallerSigningWithItsOwnAwsCredentialsIsForwardedUntouched() {
		byte[] body = "{\"max_tokens\":5}".getBytes(StandardCharsets.UTF_8);
		URI upstream = URI.create(bedrock.url());
		SignedRequest signed = AwsV4HttpSigner.create()
			.sign((sign) -> sign.identity(AwsCredentialsIdentity.create(BAD, "the-real-secret-of-c3"))
				.request(SdkHttpRequest.builder()
					.method(SdkHttpMethod.POST)
					.protocol("http")
					.host(upstream.getHost())
					.port(upstream.getPort())
					.encodedPath(OPUS + "/invoke")
					.build())
				.payload(() -> new ByteArrayInputStream(body))
				.putProperty(AwsV4FamilyHttpSigner.SERVICE_SIGNING_NAME, "bedrock")
				.putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1"));

		this.client.post()
			.uri(OPUS + "/invoke")
			.headers((headers) -> signed.request().forEachHeader((name, values) -> {
				if (!name.equalsIgnoreCase("host")) {
					headers.put(name, values);
				}
			}))
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue(body)
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.doesNotExist("X-Keypool-Key")
			.expectBody()
			.consumeWith((result) -> assertThat(result.getResponseBody()).isNotEmpty());

		assertThat(bedrock.received()).extracting(FakeBedrock.Received::credential).containsExactly(BAD);
		KeyPool pool = this.pools.get("bedrock").orElseThrow();
		assertThat(pool.keys()).allSatisfy((key) -> assertThat(pool.status(key)).isEqualTo(KeyStatus.AVAILABLE));
	}

	@Test
	void operatorsSeeTheAccessKeyIdMaskedAndNeverASecret() {
		String pool = WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + this.managementPort)
			.build()
			.get()
			.uri("/actuator/keypools/bedrock")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(String.class)
			.returnResult()
			.getResponseBody();

		assertThat(pool).contains("\"provider\":\"bedrock\"", "\"hint\":\"AKIA...0001\"", "\"hint\":\"ASIA...0002\"")
			.doesNotContain("secret-a1", "secret-a2", "session-token-a2", API_KEY);
	}

	@Test
	void streamsAreRelayedWholeMessageByWholeMessage() {
		// the upstream's writes cut messages anywhere: one and a half, then the rest and more
		List<byte[]> messages = FakeBedrock.invokeStreamMessages();
		byte[] all = concat(messages);
		int cut = messages.get(0).length + messages.get(1).length / 2;
		bedrock.then((request, response) -> FakeBedrock.rawEventStream(response,
				List.of(Arrays.copyOfRange(all, 0, cut), Arrays.copyOfRange(all, cut, all.length)), false));

		List<Message> received = decode(streamRequest(OPUS + "/invoke-with-response-stream"));

		assertThat(received).hasSize(messages.size());
		assertThat(received).allSatisfy((message) -> assertThat(message.getHeaders().get(":event-type").getString())
			.isEqualTo("chunk"));
	}

	@Test
	void aStreamBrokenInsideAMessageEndsWithAnExceptionMessageAndNoFailover() {
		List<byte[]> messages = FakeBedrock.invokeStreamMessages();
		byte[] half = Arrays.copyOf(messages.get(1), messages.get(1).length / 2);
		bedrock.then((request, response) -> FakeBedrock.rawEventStream(response, List.of(messages.get(0), half), true));

		List<Message> received = decode(streamRequest(OPUS + "/invoke-with-response-stream"));

		assertThat(received).hasSize(2);
		assertThat(received.get(0).getHeaders().get(":event-type").getString()).isEqualTo("chunk");
		Message exception = received.get(1);
		assertThat(exception.getHeaders().get(":message-type").getString()).isEqualTo("exception");
		assertThat(exception.getHeaders().get(":exception-type").getString()).isEqualTo("internalServerException");
		assertThat(new String(exception.getPayload(), StandardCharsets.UTF_8))
			.isEqualTo("{\"message\":\"upstream connection closed before the stream ended\"}");
		assertThat(bedrock.received()).hasSize(1);
	}

	private byte[] streamRequest(String path) {
		EntityExchangeResult<byte[]> result = this.client.post()
			.uri(path)
			.header("Authorization", "Bearer " + CLIENT_TOKEN)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":5,\"messages\":[]}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectHeader()
			.contentType("application/vnd.amazon.eventstream")
			.expectBody()
			.returnResult();
		return result.getResponseBody();
	}

	/** The path and query sent as written, percent-escapes and all (a URI template would escape them again). */
	URI exactly(String pathAndQuery) {
		return URI.create("http://127.0.0.1:" + this.port + pathAndQuery);
	}

	static List<String> cooledClasses(KeyPool pool, int key) {
		return pool.cooldowns(pool.keys().get(key), pool.clock().instant())
			.stream()
			.map(KeyPool.Cooldown::modelClass)
			.toList();
	}

	static List<Message> decode(byte[] stream) {
		List<Message> messages = new ArrayList<>();
		MessageDecoder decoder = new MessageDecoder(messages::add);
		decoder.feed(stream);
		return messages;
	}

	static byte[] concat(List<byte[]> parts) {
		ByteBuffer all = ByteBuffer.allocate(parts.stream().mapToInt((part) -> part.length).sum());
		parts.forEach(all::put);
		return all.array();
	}

}
