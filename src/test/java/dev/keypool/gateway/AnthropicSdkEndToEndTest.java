package dev.keypool.gateway;

import java.time.Duration;
import java.util.List;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.keypool.demo.SimulatedAnthropicServer;
import dev.keypool.demo.SimulatedKey;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.support.GatewayTestProperties;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The official Anthropic Java SDK, pointed at the gateway, against the project's simulated
 * Anthropic API whose first key is always rate-limited. The SDK's own retries are off, so a
 * success proves the gateway failed over.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class AnthropicSdkEndToEndTest {

	static final String CLIENT_TOKEN = "client-token-sdk-0001";

	static final String LIMITED = "sk-ant-limited-key-0001";

	static final String HEALTHY = "sk-ant-healthy-key-0002";

	static final SimulatedAnthropicServer upstream = SimulatedAnthropicServer.start(
			List.of(SimulatedKey.rateLimitedEvery(LIMITED, 1, Duration.ofSeconds(30)), SimulatedKey.ok(HEALTHY)),
			Duration.ZERO);

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.client("sdk", CLIENT_TOKEN)
			.pool("anthropic", "limited", LIMITED, "healthy", HEALTHY)
			.route("anthropic", upstream::baseUrl, "/v1/**", "KeyFailover=anthropic");
	}

	@LocalServerPort
	int port;

	@Autowired
	KeyPools pools;

	@BeforeEach
	void resetState() {
		upstream.api().reset();
		KeyPool pool = this.pools.get("anthropic").orElseThrow();
		pool.keys().forEach(pool::reset);
	}

	@AfterAll
	static void stopUpstream() {
		upstream.close();
	}

	@Test
	void blockingMessageSucceedsWhileTheFirstKeyIsRateLimited() {
		AnthropicClient client = AnthropicOkHttpClient.builder()
			.baseUrl("http://127.0.0.1:" + this.port)
			.authToken(CLIENT_TOKEN)
			.maxRetries(0)
			.timeout(Duration.ofSeconds(20))
			.build();

		Message message = client.messages().create(params("Hello through the gateway"));

		assertThat(message.content()).hasSize(1);
		assertThat(message.content().get(0).text().orElseThrow().text()).contains("Hello through the gateway");
		assertThat(upstream.requestCount(LIMITED)).isEqualTo(1);
		assertThat(upstream.requestCount(HEALTHY)).isEqualTo(1);
	}

	@Test
	void streamingMessageSucceedsWhileTheFirstKeyIsRateLimited() {
		AnthropicClient client = AnthropicOkHttpClient.builder()
			.baseUrl("http://127.0.0.1:" + this.port)
			.apiKey(CLIENT_TOKEN)
			.maxRetries(0)
			.timeout(Duration.ofSeconds(20))
			.build();
		MessageAccumulator accumulator = MessageAccumulator.create();

		try (StreamResponse<RawMessageStreamEvent> stream = client.messages()
			.createStreaming(params("Stream it please"))) {
			stream.stream().forEach(accumulator::accumulate);
		}

		Message message = accumulator.message();
		assertThat(message.content().get(0).text().orElseThrow().text()).contains("Stream it please");
		assertThat(upstream.requestCount(LIMITED)).isEqualTo(1);
		assertThat(upstream.requestCount(HEALTHY)).isEqualTo(1);
		assertThat(upstream.recordedRequests()).allSatisfy(
				(request) -> assertThat(request.headers().toString()).doesNotContain(CLIENT_TOKEN));
	}

	private static MessageCreateParams params(String text) {
		return MessageCreateParams.builder().model("claude-sonnet-4-6").maxTokens(256).addUserMessage(text).build();
	}

}
