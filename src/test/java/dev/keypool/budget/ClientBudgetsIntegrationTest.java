package dev.keypool.budget;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

import dev.keypool.support.GatewayTestProperties;
import dev.keypool.support.MutableClock;
import dev.keypool.support.ScriptedUpstream;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Client budgets over real HTTP, on a clock the test moves: a client over a limit gets the
 * provider-style 429 with the right {@code Retry-After}, nothing goes upstream, and the window
 * frees on time (per-day at 00:00 UTC).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		classes = { dev.keypool.KeypoolGatewayApplication.class, ClientBudgetsIntegrationTest.TestClock.class })
class ClientBudgetsIntegrationTest {

	static final ScriptedUpstream upstream = new ScriptedUpstream();

	static final MutableClock clock = new MutableClock(Instant.parse("2026-03-01T10:00:00Z"));

	/** Charged 120 tokens (50 input + 60 output + 10 cache writes); the 1000 cache reads are free. */
	static final String MESSAGE = "{\"type\":\"message\",\"model\":\"claude-haiku-4-5\",\"usage\":{\"input_tokens\":50,"
			+ "\"cache_creation_input_tokens\":10,\"cache_read_input_tokens\":1000,\"output_tokens\":60}}";

	static final String OVER_BUDGET = "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
			+ "\"message\":\"client budget exceeded\"}}";

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.client("team-r", "token-team-r-0001")
			.set("keypool.clients[0].limits.requests-per-minute", "2")
			.client("team-t", "token-team-t-0001")
			.set("keypool.clients[1].limits.tokens-per-minute", "100")
			.client("team-d", "token-team-d-0001")
			.set("keypool.clients[2].limits.tokens-per-day", "150")
			.client("team-free", "token-team-free-0001")
			.pool("budget", "b0", "sk-budget-secret-0")
			.route("budget", upstream::url, "/v1/**", "KeyFailover=budget");
	}

	@TestConfiguration(proxyBeanMethods = false)
	static class TestClock {

		@Bean
		@Primary
		MutableClock testClock() {
			return clock;
		}

	}

	@LocalServerPort
	int port;

	@LocalManagementPort
	int managementPort;

	@Autowired
	ClientBudgets budgets;

	WebTestClient client;

	@BeforeEach
	void setUp() {
		upstream.reset();
		this.client = WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + this.port)
			.responseTimeout(Duration.ofSeconds(10))
			.build();
	}

	@AfterAll
	static void stopUpstream() {
		upstream.close();
	}

	@Test
	void theRequestBeyondTheLimitWithinAMinuteIsRefusedUntilTheFirstLeavesTheWindow() {
		clock.set(Instant.parse("2026-03-01T11:00:00Z"));
		answerTwice();
		assertThat(post("token-team-r-0001").getStatus().value()).isEqualTo(200);
		clock.advance(Duration.ofSeconds(10));
		assertThat(post("token-team-r-0001").getStatus().value()).isEqualTo(200);
		clock.advance(Duration.ofSeconds(10));

		EntityExchangeResult<byte[]> refused = post("token-team-r-0001");

		assertThat(refused.getStatus().value()).isEqualTo(429);
		assertThat(refused.getResponseHeaders().getFirst("Retry-After")).isEqualTo("40");
		assertThat(refused.getResponseHeaders().getFirst("x-should-retry")).isEqualTo("true");
		assertThat(new String(refused.getResponseBody(), StandardCharsets.UTF_8)).isEqualTo(OVER_BUDGET);
		assertThat(upstream.received()).hasSize(2);
		clock.advance(Duration.ofSeconds(40));
		answerTwice();
		assertThat(post("token-team-r-0001").getStatus().value()).isEqualTo(200);
	}

	@Test
	void tokensPerMinuteTripAfterTheChargeAndFreeWhenItsSecondLeavesTheWindow() {
		clock.set(Instant.parse("2026-03-01T12:00:00.250Z"));
		answerTwice();
		assertThat(postCharged("token-team-t-0001", "team-t").getStatus().value()).isEqualTo(200);
		clock.advance(Duration.ofSeconds(5));

		EntityExchangeResult<byte[]> refused = post("token-team-t-0001");

		assertThat(refused.getStatus().value()).isEqualTo(429);
		assertThat(refused.getResponseHeaders().getFirst("Retry-After")).isEqualTo("55");
		assertThat(upstream.received()).hasSize(1);
		clock.advance(Duration.ofSeconds(55));
		assertThat(post("token-team-t-0001").getStatus().value()).isEqualTo(200);
	}

	@Test
	void tokensPerDayResetAtMidnightUtc() {
		clock.set(Instant.parse("2026-03-01T23:58:30Z"));
		answerTwice();
		assertThat(postCharged("token-team-d-0001", "team-d").getStatus().value()).isEqualTo(200);
		assertThat(postCharged("token-team-d-0001", "team-d").getStatus().value()).isEqualTo(200);

		EntityExchangeResult<byte[]> refused = post("token-team-d-0001");

		assertThat(refused.getStatus().value()).isEqualTo(429);
		assertThat(refused.getResponseHeaders().getFirst("Retry-After")).isEqualTo("90");
		clock.set(Instant.parse("2026-03-02T00:00:00Z"));
		answerTwice();
		assertThat(post("token-team-d-0001").getStatus().value()).isEqualTo(200);
	}

	@Test
	void rejectionsAreCountedByClientAndLimit() {
		clock.set(Instant.parse("2026-03-01T14:00:00Z"));
		answerTwice();
		post("token-team-r-0001");
		post("token-team-r-0001");
		double before = rejections("team-r", "requests_per_minute");

		post("token-team-r-0001");

		assertThat(rejections("team-r", "requests_per_minute")).isEqualTo(before + 1);
	}

	@Test
	void theEndpointShowsEachClientsUseAgainstItsLimitsAndNeverAToken() {
		clock.set(Instant.parse("2026-03-01T16:00:00Z"));
		answerTwice();
		postCharged("token-team-t-0001", "team-t");

		String body = management("/actuator/keypoolclients");

		assertThat(body).contains("{\"client\":\"team-t\",\"limits\":{\"requestsPerMinute\":null,"
				+ "\"tokensPerMinute\":100,\"tokensPerDay\":null},\"minute\":{\"requests\":null,\"tokens\":120},"
				+ "\"day\":{\"tokens\":")
			.contains("\"resetsAt\":\"2026-03-02T00:00:00Z\"")
			.contains("{\"client\":\"team-free\",\"limits\":{\"requestsPerMinute\":null,\"tokensPerMinute\":null,"
					+ "\"tokensPerDay\":null},\"minute\":null,\"day\":null}")
			.doesNotContain("token-team");
	}

	private void answerTwice() {
		for (int i = 0; i < 2; i++) {
			upstream.then((request, response) -> response.header("Content-Type", "application/json")
				.sendString(Mono.just(MESSAGE))
				.then());
		}
	}

	private EntityExchangeResult<byte[]> post(String token) {
		return this.client.post()
			.uri("/v1/messages")
			.header("x-api-key", token)
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"model\":\"claude-haiku-4-5\"}")
			.exchange()
			.expectBody()
			.returnResult();
	}

	/**
	 * A request whose tokens must be charged before the test goes on. The charge lands when the
	 * upstream's response ends, which can be just after the caller has read the whole body: a
	 * test that moved the clock or sent the next request at once would race it.
	 */
	private EntityExchangeResult<byte[]> postCharged(String token, String client) {
		long before = tokensToday(client);
		EntityExchangeResult<byte[]> result = post(token);
		await().atMost(Duration.ofSeconds(10)).until(() -> tokensToday(client) > before);
		return result;
	}

	private long tokensToday(String client) {
		return this.budgets.use()
			.block(Duration.ofSeconds(5))
			.stream()
			.filter((budget) -> budget.client().equals(client))
			.map(ClientBudgets.ClientBudget::use)
			.filter(Objects::nonNull)
			.mapToLong(ClientUse::tokensToday)
			.findFirst()
			.orElse(0L);
	}

	private double rejections(String client, String limit) {
		String scrape = management("/actuator/prometheus");
		String prefix = "keypool_client_budget_rejections_total{client=\"" + client + "\",limit=\"" + limit + "\"";
		return scrape.lines()
			.filter((line) -> line.startsWith(prefix))
			.mapToDouble((line) -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
			.sum();
	}

	private String management(String path) {
		byte[] body = WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + this.managementPort)
			.build()
			.get()
			.uri(path)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.returnResult()
			.getResponseBody();
		return new String(body, StandardCharsets.UTF_8);
	}

}
