package dev.keypool.e2e;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import dev.keypool.support.ClaudeCodeCli;
import dev.keypool.support.FakeVertex;
import dev.keypool.support.GatewayTestProperties;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real Claude Code CLI in its Vertex AI mode, pointed at the gateway, which serves it from
 * service accounts of two Google Cloud projects: the project it names is replaced by each key's
 * own, one project out of quota fails over to the other, and the client token (sent as a custom
 * header, Google authentication skipped) never reaches Vertex.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class ClaudeCodeVertexEndToEndTest {

	static final String CLIENT_TOKEN = "client-token-claude-code-vertex-01";

	static final String SA1 = "cc-1@project-one.iam.gserviceaccount.com";

	static final String SA2 = "cc-2@project-two.iam.gserviceaccount.com";

	static final FakeVertex vertex = new FakeVertex();

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties properties = GatewayTestProperties.on(registry)
			.client("claude-code", CLIENT_TOKEN)
			.set("keypool.pools.vertex.provider", "vertex");
		String[][] keys = { { "one", SA1, "project-one" }, { "two", SA2, "project-two" } };
		for (int i = 0; i < keys.length; i++) {
			String key = "keypool.pools.vertex.keys[" + i + "].";
			properties.set(key + "id", keys[i][0])
				.set(key + "credentials", vertex.serviceAccount(keys[i][1]))
				.set(key + "project", keys[i][2])
				.set(key + "region", "us-east5");
		}
		properties.route("vertex", vertex::url, "/v1/projects/**", "KeyFailover=vertex");
	}

	@LocalServerPort
	int port;

	@AfterAll
	static void stopVertex() {
		vertex.close();
	}

	@Test
	void claudeCodeInVertexModeIsServedFromTheKeysOwnProjects() {
		vertex.exhaust("project-one");

		ClaudeCodeCli.Result run = ClaudeCodeCli.installed()
			.print("say hi", Map.of("CLAUDE_CODE_USE_VERTEX", "1", "ANTHROPIC_VERTEX_BASE_URL",
					"http://127.0.0.1:" + this.port + "/v1", "ANTHROPIC_VERTEX_PROJECT_ID", "callers-project",
					"CLOUD_ML_REGION", "us-east5", "CLAUDE_CODE_SKIP_VERTEX_AUTH", "1", "ANTHROPIC_CUSTOM_HEADERS",
					"x-api-key: " + CLIENT_TOKEN), Duration.ofMinutes(2));

		assertThat(run.succeeded()).as("exit %d, stdout %s, stderr %s", run.exitCode(), run.stdout(), run.stderr())
			.isTrue();
		assertThat(run.stdout()).contains(FakeVertex.TEXT);
		assertThat(vertex.received()).isNotEmpty().allSatisfy((received) -> {
			assertThat(received.project()).isIn("project-one", "project-two");
			assertThat(received.headers().toString()).doesNotContain(CLIENT_TOKEN);
		});
		assertThat(vertex.received()).extracting(FakeVertex.Received::account).contains(SA1, SA2);
	}

}
