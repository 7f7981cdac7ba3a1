package dev.keypool.demo;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;

import static org.assertj.core.api.Assertions.assertThat;

class DemoUpstreamConfigurationTests {

	private static final String HELLO = """
			{"model":"claude-sonnet-4-6","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""";

	private final ReactiveWebApplicationContextRunner runner = new ReactiveWebApplicationContextRunner()
		.withUserConfiguration(DemoUpstreamConfiguration.class);

	@Test
	void withoutTheDemoProfileNothingIsServed() {
		this.runner.run((context) -> assertThat(context).doesNotHaveBean(SimulatedAnthropicApi.class)
			.doesNotHaveBean(RouterFunction.class));
	}

	@Test
	void demoProfileBindsTheDocumentedDefaults() {
		demo().run((context) -> assertThat(context.getBean(DemoProperties.class)).isEqualTo(new DemoProperties(
				Duration.ofMillis(20), 3, Duration.ofSeconds(10), "demo-key-primary-0001", "demo-key-revoked-0002",
				"demo-key-backup-0003")));
	}

	@Test
	void demoKeysArePrimaryRateLimitedEveryThirdThenRevokedThenBackupOk() {
		demo().withPropertyValues("keypool.demo.delta-delay=0ms").run((context) -> {
			WebTestClient client = client(context.getBean("demoUpstreamRoutes", RouterFunction.class));

			assertThat(statuses(client, "demo-key-primary-0001", 3)).containsExactly(200, 200, 429);
			assertThat(statuses(client, "demo-key-revoked-0002", 1)).containsExactly(401);
			assertThat(statuses(client, "demo-key-backup-0003", 4)).containsOnly(200);
		});
	}

	@Test
	void demoKeysFollowTheirProperties() {
		demo().withPropertyValues("keypool.demo.primary-secret=p", "keypool.demo.rate-limit-every=1",
				"keypool.demo.retry-after=2s")
			.run((context) -> client(context.getBean("demoUpstreamRoutes", RouterFunction.class)).post()
				.uri("/demo-upstream/v1/messages")
				.header("x-api-key", "p")
				.header("anthropic-version", "2023-06-01")
				.contentType(MediaType.APPLICATION_JSON)
				.bodyValue(HELLO)
				.exchange()
				.expectStatus()
				.isEqualTo(HttpStatus.TOO_MANY_REQUESTS)
				.expectHeader()
				.valueEquals("retry-after", "2"));
	}

	@Test
	void rateLimitEveryBelowOneFailsStartupNamingTheProperty() {
		demo().withPropertyValues("keypool.demo.rate-limit-every=0")
			.run((context) -> assertThat(context).hasFailed()
				.getFailure()
				.rootCause()
				.hasMessageContaining("rateLimitEvery"));
	}

	private ReactiveWebApplicationContextRunner demo() {
		return this.runner.withInitializer((context) -> context.getEnvironment().setActiveProfiles("demo"));
	}

	@SuppressWarnings("unchecked")
	private static WebTestClient client(RouterFunction<?> routes) {
		return WebTestClient.bindToRouterFunction((RouterFunction<ServerResponse>) routes).build();
	}

	private static int[] statuses(WebTestClient client, String key, int requests) {
		int[] statuses = new int[requests];
		for (int i = 0; i < requests; i++) {
			statuses[i] = client.post()
				.uri("/demo-upstream/v1/messages")
				.header("x-api-key", key)
				.header("anthropic-version", "2023-06-01")
				.contentType(MediaType.APPLICATION_JSON)
				.bodyValue(HELLO)
				.exchange()
				.expectBody()
				.returnResult()
				.getStatus()
				.value();
		}
		return statuses;
	}

}
