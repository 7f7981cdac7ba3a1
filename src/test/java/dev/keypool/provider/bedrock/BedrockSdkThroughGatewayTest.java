package dev.keypool.provider.bedrock;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AnonymousCredentialsProvider;
import software.amazon.awssdk.auth.token.credentials.SdkToken;
import software.amazon.awssdk.auth.token.credentials.StaticTokenProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.http.Protocol;
import software.amazon.awssdk.http.auth.spi.scheme.AuthSchemeOption;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.retries.DefaultRetryStrategy;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeAsyncClient;
import software.amazon.awssdk.services.bedrockruntime.BedrockRuntimeClient;
import software.amazon.awssdk.services.bedrockruntime.model.ContentBlock;
import software.amazon.awssdk.services.bedrockruntime.model.ConversationRole;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseResponse;
import software.amazon.awssdk.services.bedrockruntime.model.ConverseStreamResponseHandler;
import software.amazon.awssdk.services.bedrockruntime.model.InternalServerException;
import software.amazon.awssdk.services.bedrockruntime.model.InvokeModelResponse;
import software.amazon.awssdk.services.bedrockruntime.model.InvokeModelWithResponseStreamResponseHandler;
import software.amazon.awssdk.services.bedrockruntime.model.Message;

import dev.keypool.support.FakeBedrock;
import dev.keypool.support.GatewayTestProperties;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * The AWS SDK for Java's own Bedrock runtime clients, pointed at the gateway with a client
 * token as their bearer token: blocking and streaming calls are served by the pool's signed
 * keys, and a stream the upstream breaks is reported by the SDK as an error.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class BedrockSdkThroughGatewayTest {

	static final String CLIENT_TOKEN = "client-token-bedrock-sdk-0001";

	static final String MODEL = "anthropic.claude-opus-4-7-v1:0";

	static final String A1 = "AKIAFAKESDKACCOUNT01";

	static final String A2 = "AKIAFAKESDKACCOUNT02";

	static final FakeBedrock bedrock = new FakeBedrock("us-west-2").credential(A1, "sdk-secret-a1-0123456789")
		.credential(A2, "sdk-secret-a2-0123456789");

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties properties = GatewayTestProperties.on(registry)
			.client("team-sdk", CLIENT_TOKEN)
			.set("keypool.pools.bedrock.provider", "bedrock");
		BedrockPoolIntegrationTest.awsKey(properties, "bedrock", 0, "a1", A1, "sdk-secret-a1-0123456789", null);
		BedrockPoolIntegrationTest.awsKey(properties, "bedrock", 1, "a2", A2, "sdk-secret-a2-0123456789", null);
		properties.set("keypool.pools.bedrock.keys[0].region", "us-west-2")
			.set("keypool.pools.bedrock.keys[1].region", "us-west-2")
			.route("bedrock", bedrock::url, "/model/**", "KeyFailover=bedrock");
	}

	@LocalServerPort
	int port;

	BedrockRuntimeClient client;

	BedrockRuntimeAsyncClient asyncClient;

	@BeforeEach
	void setUp() {
		bedrock.reset();
		URI gateway = URI.create("http://127.0.0.1:" + this.port);
		StaticTokenProvider token = StaticTokenProvider.create(new ClientToken());
		ClientOverrideConfiguration noRetries = ClientOverrideConfiguration.builder()
			.retryStrategy(DefaultRetryStrategy.doNotRetry())
			.build();
		this.client = BedrockRuntimeClient.builder()
			.endpointOverride(gateway)
			.region(Region.US_WEST_2)
			.credentialsProvider(AnonymousCredentialsProvider.create())
			.tokenProvider(token)
			.authSchemeProvider((params) -> List.of(AuthSchemeOption.builder().schemeId("smithy.api#httpBearerAuth").build()))
			.overrideConfiguration(noRetries)
			.build();
		// the async client speaks HTTP/2 by default; over plain http the gateway speaks HTTP/1.1
		this.asyncClient = BedrockRuntimeAsyncClient.builder()
			.httpClientBuilder(NettyNioAsyncHttpClient.builder().protocol(Protocol.HTTP1_1))
			.endpointOverride(gateway)
			.region(Region.US_WEST_2)
			.credentialsProvider(AnonymousCredentialsProvider.create())
			.tokenProvider(token)
			.authSchemeProvider((params) -> List.of(AuthSchemeOption.builder().schemeId("smithy.api#httpBearerAuth").build()))
			.overrideConfiguration(noRetries)
			.build();
	}

	@AfterEach
	void closeClients() {
		this.client.close();
		this.asyncClient.close();
	}

	@AfterAll
	static void stopBedrock() {
		bedrock.close();
	}

	@Test
	void invokeModelIsServedByTheNextKeyWhenTheFirstIsThrottled() {
		bedrock.throttle(A1);

		InvokeModelResponse response = this.client.invokeModel((request) -> request.modelId(MODEL)
			.contentType("application/json")
			.body(SdkBytes.fromUtf8String("{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":5,"
					+ "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")));

		assertThat(response.body().asUtf8String()).contains(FakeBedrock.TEXT);
		assertThat(bedrock.received()).extracting(FakeBedrock.Received::credential).containsExactly(A1, A2);
		assertThat(bedrock.received()).allSatisfy((received) -> assertThat(received.headers().toString())
			.doesNotContain(CLIENT_TOKEN));
	}

	@Test
	void converseWorks() {
		ConverseResponse response = this.client.converse((request) -> request.modelId(MODEL)
			.messages(Message.builder().role(ConversationRole.USER).content(ContentBlock.fromText("hi")).build()));

		assertThat(response.output().message().content().get(0).text()).isEqualTo(FakeBedrock.TEXT);
	}

	@Test
	void invokeModelWithResponseStreamDeliversEveryChunk() throws Exception {
		List<String> chunks = new CopyOnWriteArrayList<>();
		CompletableFuture<Void> done = this.asyncClient.invokeModelWithResponseStream(
				(request) -> request.modelId(MODEL).body(SdkBytes.fromUtf8String("{\"max_tokens\":5}")),
				InvokeModelWithResponseStreamResponseHandler.builder()
					.subscriber(InvokeModelWithResponseStreamResponseHandler.Visitor.builder()
						.onChunk((chunk) -> chunks.add(chunk.bytes().asUtf8String()))
						.build())
					.build());

		done.get(20, TimeUnit.SECONDS);

		assertThat(chunks).hasSize(6);
		assertThat(chunks.get(2)).contains(FakeBedrock.TEXT);
	}

	@Test
	void converseStreamDeliversTheText() throws Exception {
		StringBuilder text = new StringBuilder();
		CompletableFuture<Void> done = this.asyncClient.converseStream(
				(request) -> request.modelId(MODEL)
					.messages(Message.builder().role(ConversationRole.USER).content(ContentBlock.fromText("hi")).build()),
				ConverseStreamResponseHandler.builder()
					.subscriber(ConverseStreamResponseHandler.Visitor.builder()
						.onContentBlockDelta((delta) -> text.append(delta.delta().text()))
						.build())
					.build());

		done.get(20, TimeUnit.SECONDS);

		assertThat(text).hasToString(FakeBedrock.TEXT);
	}

	@Test
	void aStreamBrokenMidwayIsReportedByTheSdkAsAnError() {
		List<byte[]> messages = FakeBedrock.invokeStreamMessages();
		byte[] half = Arrays.copyOf(messages.get(1), messages.get(1).length / 2);
		bedrock.then((request, response) -> FakeBedrock.rawEventStream(response, List.of(messages.get(0), half), true));
		List<String> chunks = new CopyOnWriteArrayList<>();

		CompletableFuture<Void> done = this.asyncClient.invokeModelWithResponseStream(
				(request) -> request.modelId(MODEL).body(SdkBytes.fromUtf8String("{\"max_tokens\":5}")),
				InvokeModelWithResponseStreamResponseHandler.builder()
					.subscriber(InvokeModelWithResponseStreamResponseHandler.Visitor.builder()
						.onChunk((chunk) -> chunks.add(chunk.bytes().asUtf8String()))
						.build())
					.build());
		Throwable failure = catchThrowable(() -> done.get(20, TimeUnit.SECONDS));

		assertThat(failure).isInstanceOf(ExecutionException.class);
		assertThat(failure.getCause()).isInstanceOf(InternalServerException.class)
			.hasMessageContaining("upstream connection closed before the stream ended");
		assertThat(chunks).hasSize(1);
		assertThat(bedrock.received()).hasSize(1);
	}

	/** The client token, as the SDK's bearer token. */
	static final class ClientToken implements SdkToken {

		@Override
		public String token() {
			return CLIENT_TOKEN;
		}

		@Override
		public Optional<Instant> expirationTime() {
			return Optional.of(Instant.now().plus(Duration.ofHours(1)));
		}

	}

}
