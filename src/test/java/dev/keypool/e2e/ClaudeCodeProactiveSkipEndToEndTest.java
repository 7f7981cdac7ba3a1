package dev.keypool.e2e;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;

import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import dev.keypool.demo.RecordedRequest;
import dev.keypool.demo.SimulatedAnthropicServer;
import dev.keypool.demo.SimulatedKey;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.support.ClaudeCodeCli;
import dev.keypool.support.GatewayTestProperties;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real Claude Code CLI through a pool whose first key answers, but reports with every
 * answer that its requests are used up until a reset ten minutes away (the
 * {@code anthropic-ratelimit-*} headers the provider sends). The gateway reads that from the
 * first answer and skips the key for that model class from then on, before it would 429: Claude
 * Code never sees a 429 and the second key serves every later request.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class ClaudeCodeProactiveSkipEndToEndTest {

	static final String CLIENT_TOKEN = "client-token-claude-code-0001";

	static final String USED_UP = "sk-ant-used-up-key-0001";

	static final String SPARE = "sk-ant-spare-key-0002";

	private static final Duration RUN_TIMEOUT = Duration.ofMinutes(2);

	/** The provider sends whole seconds in UTC; the gateway runs on the real clock here. */
	static final Instant RESET = Instant.now().plus(Duration.ofMinutes(10)).truncatedTo(ChronoUnit.SECONDS);

	static final SimulatedAnthropicServer upstream = SimulatedAnthropicServer.start(
			List.of(SimulatedKey.ok(USED_UP), SimulatedKey.ok(SPARE)), Duration.ZERO, (request, response) -> {
				boolean usedUp = USED_UP.equals(request.getFirst("x-api-key"));
				response.add("anthropic-ratelimit-requests-limit", "50");
				response.add("anthropic-ratelimit-requests-remaining", usedUp ? "0" : "49");
				response.add("anthropic-ratelimit-requests-reset", RESET.toString());
			});

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.client("claude-code", CLIENT_TOKEN)
			.pool("anthropic", "used-up", USED_UP, "spare", SPARE)
			.route("anthropic", upstream::baseUrl, "/v1/**", "KeyFailover=anthropic");
	}

	@LocalServerPort
	int port;

	@Autowired
	KeyPools pools;

	@Autowired
	MeterRegistry meters;

	@AfterAll
	static void stopUpstream() {
		upstream.close();
	}

	@Test
	void claudeCodeAnswersWithoutA429AndTheSecondKeyServesOnceTheFirstReportsItsLimitsUsedUp() {
		ClaudeCodeCli claude = ClaudeCodeCli.installed();
		Map<String, String> environment = Map.of("ANTHROPIC_BASE_URL", "http://127.0.0.1:" + this.port,
				"ANTHROPIC_API_KEY", CLIENT_TOKEN);

		ClaudeCodeCli.Result first = claude.print("say hi", environment, RUN_TIMEOUT);
		int afterFirstRun = upstream.recordedRequests().size();
		ClaudeCodeCli.Result second = claude.print("say hi again", environment, RUN_TIMEOUT);

		assertThat(List.of(first, second)).allSatisfy((run) -> {
			assertThat(run.succeeded()).as("exit %d, stdout %s, stderr %s", run.exitCode(), run.stdout(), run.stderr())
				.isTrue();
			assertThat(run.stdout()).contains("keypool-gateway demo upstream");
		});
		List<RecordedRequest> received = upstream.recordedRequests();
		assertThat(received).as("the first key answered the first request and reported itself used up")
			.first()
			.extracting(RecordedRequest::credential)
			.isEqualTo(USED_UP);
		assertThat(received.subList(afterFirstRun, received.size()))
			.as("the second run: every request went to the second key, none was tried on the first")
			.isNotEmpty()
			.allSatisfy((request) -> assertThat(request.credential()).isEqualTo(SPARE));
		assertThat(counter("keypool.proactive.cooldowns", "key", "used-up")).isPositive();
		assertThat(counter("keypool.upstream.attempts", "outcome", "rate_limited"))
			.as("no request met a 429 upstream").isZero();
		assertThat(counter("keypool.exhaustions")).as("the gateway wrote no 429 of its own").isZero();
		KeyPool pool = this.pools.get("anthropic").orElseThrow();
		assertThat(pool.latestCooldown(pool.key("used-up").orElseThrow(), Instant.now()).until())
			.as("skipped until exactly the announced reset")
			.isEqualTo(RESET);
	}

	private double counter(String name, String... tags) {
		return this.meters.find(name).tags(tags).counters().stream().mapToDouble((c) -> c.count()).sum();
	}

}
