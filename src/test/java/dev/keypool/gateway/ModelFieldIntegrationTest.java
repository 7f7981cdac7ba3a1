package dev.keypool.gateway;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.support.GatewayTestProperties;
import dev.keypool.support.RawHttp;
import dev.keypool.support.UpstreamStub;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

import static dev.keypool.support.UpstreamStub.json;
import static dev.keypool.support.UpstreamStub.rateLimited;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The request's {@code model} as the provider reads it (a JSON parser over the whole body), and
 * what a caller can do with it: escaped or far-down model names, duplicates, non-strings,
 * control characters and floods of made-up ids. Bodies go over raw sockets, byte for byte.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ExtendWith(OutputCaptureExtension.class)
class ModelFieldIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-model-field-0001";

	static final UpstreamStub upstream = new UpstreamStub();

	static final String MESSAGE = "{\"id\":\"msg_1\",\"type\":\"message\",\"model\":\"claude-opus-4-7\",\"content\":[],"
			+ "\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}";

	static final String SONNET = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":10,\"messages\":[]}";

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.client("team-m", CLIENT_TOKEN)
			.pool("models", "k0", "sk-k0-secret-abcdefgh", "k1", "sk-k1-secret-abcdefgh")
			.pool("logged", "l0", "sk-l0-secret-abcdefgh")
			.set("keypool.access-log", "true")
			.route("logged", upstream::url, "/logged/**", "StripPrefix=1", "KeyFailover=logged")
			.route("models", upstream::url, "/v1/**", "KeyFailover=models");
	}

	@LocalServerPort
	int port;

	@LocalManagementPort
	int managementPort;

	@Autowired
	KeyPools pools;

	@BeforeEach
	void setUp() {
		upstream.reset();
		for (KeyPool pool : this.pools.all()) {
			pool.keys().forEach(pool::reset);
		}
	}

	@AfterAll
	static void stopUpstream() {
		upstream.close();
	}

	@Test
	void anEscapedModelNameCoolsOnlyItsClass() {
		upstream.enqueue(rateLimited("30"), json(200, MESSAGE));

		assertThat(post("{\"\\u006dodel\":\"claude-opus-4-7\",\"max_tokens\":10}").headers().get("x-keypool-key"))
			.isEqualTo("k1");

		assertThat(post(SONNET).headers().get("x-keypool-key")).as("k0 cooled for opus only").isEqualTo("k0");
	}

	@Test
	void aModelAfterAQuarterMegabyteOfMessagesCoolsOnlyItsClass() {
		upstream.enqueue(rateLimited("30"), json(200, MESSAGE));
		String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(300 * 1024)
				+ "\"}],\"model\":\"claude-opus-4-7\"}";

		assertThat(post(body).headers().get("x-keypool-key")).isEqualTo("k1");

		assertThat(post(SONNET).headers().get("x-keypool-key")).isEqualTo("k0");
	}

	@Test
	void aModelThatIsNotAStringNeverCoolsTheWholeKey() {
		upstream.enqueue(rateLimited("30"), json(200, MESSAGE));

		assertThat(post("{\"model\":[\"claude-opus-4-7\"],\"max_tokens\":10}").headers().get("x-keypool-key"))
			.isEqualTo("k1");

		assertThat(post(SONNET).headers().get("x-keypool-key")).isEqualTo("k0");
	}

	@Test
	void twoModelMembersAreRefusedBeforeAnythingGoesUpstream() {
		RawHttp.Response response = post("{\"model\":\"claude-haiku-4-5\",\"max_tokens\":10,\"model\":\"claude-opus-4-7\"}");

		assertThat(response.status()).isEqualTo(400);
		assertThat(response.body()).contains("\"type\":\"invalid_request_error\"").contains("more than one");
		assertThat(upstream.takeAll()).isEmpty();
	}

	@Test
	void controlCharactersInAModelReachNoLogLineAndNoLabel(CapturedOutput output) {
		upstream.enqueue(json(200, MESSAGE), json(200, MESSAGE));
		String forged = "\n2026-01-01 INFO access client=admin\u001b[31m";

		// a pool of its own, whose class names no other test has taken
		post("/logged/v1/messages", "{\"model\":\"evil\\r\\n\\u001b[31m\\u2028forged\",\"max_tokens\":10}");
		post("/logged/v1/messages", "{\"model\":\"raw" + forged + "\",\"max_tokens\":10}");

		// an earlier test's request may be logged during this one (the line is written when its
		// response ends): only this pool's lines are this test's
		await().atMost(Duration.ofSeconds(5))
			.until(() -> output.getOut().lines().filter((l) -> l.contains(" pool=logged ")).count() >= 2);
		List<String> lines = output.getOut()
			.lines()
			.filter((l) -> l.contains("access client=") && l.contains(" pool=logged "))
			.toList();
		assertThat(lines).hasSize(2);
		assertThat(lines).allSatisfy((line) -> assertThat(line).contains(" model_class=other "));
		assertThat(output.getOut()).doesNotContain("\u001b").doesNotContain("\u2028").doesNotContain("evil");
		String scrape = scrape();
		assertThat(scrape).doesNotContain("\u001b").doesNotContain("evil").doesNotContain("forged");
		assertThat(scrape.lines().filter((l) -> l.startsWith("keypool_tokens_total{")))
			.isNotEmpty()
			.allSatisfy((line) -> assertThat(line).containsPattern("model_class=\"[a-z0-9._:@/*-]+\""));
	}

	@Test
	void madeUpModelIdsShareOtherAndLeaveNamesForModelsTheProviderServes() {
		for (int i = 0; i < 20; i++) {
			upstream.enqueue(json(404, "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"model\"}}"));
			post("{\"model\":\"claude-garbage" + (char) ('a' + i) + "-1\",\"max_tokens\":10}");
		}
		upstream.enqueue(json(200, MESSAGE), json(200, MESSAGE), json(200, MESSAGE));

		post(SONNET);
		post("{\"model\":\"claude-nova-1\",\"max_tokens\":10}");
		post("{\"model\":\"claude-nova-1\",\"max_tokens\":10}");

		String scrape = scrape();
		assertThat(scrape).doesNotContain("garbage");
		assertThat(scrape).contains("model_class=\"sonnet\"").contains("model_class=\"nova\"");
	}

	private RawHttp.Response post(String body) {
		return post("/v1/messages", body);
	}

	private RawHttp.Response post(String path, String body) {
		byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
		String head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: " + CLIENT_TOKEN
				+ "\r\nContent-Type: application/json";
		return RawHttp.exchange(this.port, head, bytes);
	}

	private String scrape() {
		byte[] body = WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + this.managementPort)
			.build()
			.get()
			.uri("/actuator/prometheus")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.returnResult()
			.getResponseBody();
		return new String(body, StandardCharsets.UTF_8);
	}

}
