package dev.keypool.e2e;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.support.ClaudeCodeCli;
import dev.keypool.support.FakeBedrock;
import dev.keypool.support.GatewayTestProperties;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real Claude Code CLI in its Bedrock mode, pointed at the gateway, which serves it from a
 * pool of AWS credentials against a Bedrock endpoint that verifies every signature. Both ways
 * Claude Code can present the client token are covered, and the token never reaches Bedrock.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class ClaudeCodeBedrockEndToEndTest {

	static final String CLIENT_TOKEN = "client-token-claude-code-bedrock-01";

	static final String A1 = "AKIAFAKECLAUDECODE01";

	static final String A2 = "AKIAFAKECLAUDECODE02";

	static final Duration RUN_TIMEOUT = Duration.ofMinutes(2);

	static final FakeBedrock bedrock = new FakeBedrock("us-east-1").credential(A1, "cc-secret-a1-0123456789")
		.credential(A2, "cc-secret-a2-0123456789");

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties properties = GatewayTestProperties.on(registry)
			.client("claude-code", CLIENT_TOKEN)
			.set("keypool.pools.bedrock.provider", "bedrock");
		String[][] keys = { { "a1", A1, "cc-secret-a1-0123456789" }, { "a2", A2, "cc-secret-a2-0123456789" } };
		for (int i = 0; i < keys.length; i++) {
			String key = "keypool.pools.bedrock.keys[" + i + "].";
			properties.set(key + "id", keys[i][0])
				.set(key + "access-key-id", keys[i][1])
				.set(key + "secret-access-key", keys[i][2])
				.set(key + "region", "us-east-1");
		}
		properties.route("bedrock", bedrock::url, "/model/**,/inference-profiles", "KeyFailover=bedrock");
	}

	@LocalServerPort
	int port;

	@Autowired
	KeyPools pools;

	@BeforeEach
	void setUp() {
		bedrock.reset();
		KeyPool pool = this.pools.get("bedrock").orElseThrow();
		pool.keys().forEach(pool::reset);
	}

	@AfterAll
	static void stopBedrock() {
		bedrock.close();
	}

	@Test
	void claudeCodeWithTheClientTokenAsItsBedrockBearerTokenIsServedThroughAThrottledAccount() {
		bedrock.throttle(A1);

		ClaudeCodeCli.Result run = ClaudeCodeCli.installed()
			.print("say hi", Map.of("CLAUDE_CODE_USE_BEDROCK", "1", "ANTHROPIC_BEDROCK_BASE_URL", gateway(),
					"AWS_REGION", "us-east-1", "AWS_BEARER_TOKEN_BEDROCK", CLIENT_TOKEN), RUN_TIMEOUT);

		assertThat(run.succeeded()).as("exit %d, stdout %s, stderr %s", run.exitCode(), run.stdout(), run.stderr())
			.isTrue();
		assertThat(run.stdout()).contains(FakeBedrock.TEXT);
		assertThat(bedrock.received()).isNotEmpty().allSatisfy((received) -> {
			assertThat(received.refusal()).isNull();
			assertThat(received.headers().toString()).doesNotContain(CLIENT_TOKEN);
		});
		assertThat(bedrock.received()).extracting(FakeBedrock.Received::credential).contains(A1, A2);
	}

	@Test
	void claudeCodeSkippingBedrockAuthSendsTheClientTokenAsACustomHeader() {
		ClaudeCodeCli.Result run = ClaudeCodeCli.installed()
			.print("say hi", Map.of("CLAUDE_CODE_USE_BEDROCK", "1", "ANTHROPIC_BEDROCK_BASE_URL", gateway(),
					"AWS_REGION", "us-east-1", "CLAUDE_CODE_SKIP_BEDROCK_AUTH", "1", "ANTHROPIC_CUSTOM_HEADERS",
					"x-api-key: " + CLIENT_TOKEN, "ANTHROPIC_MODEL", "us.anthropic.claude-opus-4-7-v1:0"),
					RUN_TIMEOUT);

		assertThat(run.succeeded()).as("exit %d, stdout %s, stderr %s", run.exitCode(), run.stdout(), run.stderr())
			.isTrue();
		assertThat(run.stdout()).contains(FakeBedrock.TEXT);
		assertThat(bedrock.received()).isNotEmpty().allSatisfy((received) -> {
			assertThat(received.credential()).isEqualTo(A1);
			assertThat(received.headers().toString()).doesNotContain(CLIENT_TOKEN);
		});
		assertThat(bedrock.received()).anySatisfy(
				(received) -> assertThat(received.uri()).endsWith("/invoke-with-response-stream"));
	}

	private String gateway() {
		return "http://127.0.0.1:" + this.port;
	}

}
