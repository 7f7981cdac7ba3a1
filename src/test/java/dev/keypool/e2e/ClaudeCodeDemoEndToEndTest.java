package dev.keypool.e2e;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.keypool.KeypoolGatewayApplication;
import dev.keypool.demo.DemoProperties;
import dev.keypool.demo.SimulatedAnthropicApi;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyStatus;
import dev.keypool.support.ClaudeCodeCli;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real Claude Code CLI, pointed at a gateway running the demo profile: its requests are
 * pooled with the demo client token, the failovers behind them are invisible to it, and its
 * token never reaches the provider.
 */
class ClaudeCodeDemoEndToEndTest {

	private static final Duration RUN_TIMEOUT = Duration.ofMinutes(2);

	static ConfigurableApplicationContext context;

	static String baseUrl;

	@BeforeAll
	static void startDemo() throws IOException {
		int port;
		try (ServerSocket socket = new ServerSocket(0)) {
			port = socket.getLocalPort();
		}
		// The demo route points at ${server.port}, so the port must be known before startup.
		context = new SpringApplicationBuilder(KeypoolGatewayApplication.class).profiles("demo")
			.run("--server.port=" + port, "--management.server.port=0", "--keypool.demo.delta-delay=0ms");
		baseUrl = "http://127.0.0.1:" + port;
	}

	@BeforeEach
	void resetDemo() {
		context.getBean(SimulatedAnthropicApi.class).reset();
		KeyPool pool = pool();
		pool.keys().forEach(pool::reset);
	}

	@AfterAll
	static void stopDemo() {
		context.close();
	}

	@Test
	void claudeCodeAnswersThroughARateLimitAndARevokedKey() {
		ClaudeCodeCli claude = ClaudeCodeCli.installed();
		DemoProperties demo = context.getBean(DemoProperties.class);
		SimulatedAnthropicApi upstream = context.getBean(SimulatedAnthropicApi.class);

		// The primary key is rate-limited on every third request it gets: three runs of at least
		// one request each take it there, and the walk then meets the revoked key.
		List<ClaudeCodeCli.Result> runs = new ArrayList<>();
		for (int i = 0; i < 3; i++) {
			runs.add(claude.print("say hi", Map.of("ANTHROPIC_BASE_URL", baseUrl, "ANTHROPIC_API_KEY",
					"demo-client-token"), RUN_TIMEOUT));
		}

		assertThat(runs).allSatisfy((run) -> {
			assertThat(run.succeeded()).as("exit %d, stdout %s, stderr %s", run.exitCode(), run.stdout(), run.stderr())
				.isTrue();
			assertThat(run.stdout()).contains("keypool-gateway demo upstream");
		});
		assertThat(upstream.requestCount(demo.primarySecret())).isGreaterThanOrEqualTo(3);
		assertThat(upstream.requestCount(demo.backupSecret())).isPositive();
		KeyPool pool = pool();
		assertThat(pool.status(pool.key("revoked").orElseThrow())).isEqualTo(KeyStatus.DISABLED);
		assertThat(upstream.unknownKeyRequestCount()).isZero();
	}

	@Test
	void aBearerClientTokenIsPooledAndNeverReachesTheProvider() {
		ClaudeCodeCli claude = ClaudeCodeCli.installed();

		ClaudeCodeCli.Result run = claude.print("say hi",
				Map.of("ANTHROPIC_BASE_URL", baseUrl, "ANTHROPIC_AUTH_TOKEN", "demo-client-token"), RUN_TIMEOUT);

		assertThat(run.succeeded()).as("exit %d, stdout %s, stderr %s", run.exitCode(), run.stdout(), run.stderr())
			.isTrue();
		SimulatedAnthropicApi upstream = context.getBean(SimulatedAnthropicApi.class);
		assertThat(upstream.recordedRequests()).isNotEmpty()
			.allSatisfy((request) -> assertThat(request.headers().toString()).doesNotContain("demo-client-token"));
		assertThat(upstream.recordedRequests()).allSatisfy(
				(request) -> assertThat(request.headers().getFirst("x-claude-code-session-id")).isNotBlank());
		assertThat(upstream.unknownKeyRequestCount()).isZero();
	}

	private static KeyPool pool() {
		return context.getBean(KeyPools.class).get("anthropic").orElseThrow();
	}

}
