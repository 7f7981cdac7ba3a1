package dev.keypool.usage;

import java.time.Duration;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.http.client.HttpClient;

import dev.keypool.pool.CallerText;
import dev.keypool.support.GatewayTestProperties;
import dev.keypool.support.ScriptedUpstream;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.reactive.function.client.WebClient;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code keypool.access-log=true}: one line per request with who, which key, what status and
 * how many tokens; never the client token or a key secret, and caller-controlled values cut.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ExtendWith(OutputCaptureExtension.class)
class AccessLogIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-access-log-0001";

	static final String SECRET = "sk-access-log-secret-0";

	static final ScriptedUpstream upstream = new ScriptedUpstream();

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.client("team-l", CLIENT_TOKEN)
			.pool("logged", "k0", SECRET)
			.set("keypool.access-log", "true")
			.route("logged", upstream::url, "/v1/**", "KeyFailover=logged");
	}

	@LocalServerPort
	int port;

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
	void aPooledRequestIsLoggedWithItsClientKeyStatusTokensAndSession(CapturedOutput output) {
		upstream.then((request, response) -> response.header("Content-Type", "application/json")
			.sendString(Mono.just(UsageAccountingIntegrationTest.MESSAGE))
			.then());

		this.client.post()
			.uri("/v1/messages")
			.header("x-api-key", CLIENT_TOKEN)
			.header("x-claude-code-session-id", "session-42")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"model\":\"claude-opus-4-7\"}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.returnResult();

		await().atMost(Duration.ofSeconds(5)).until(() -> output.getOut().contains("access client=team-l"));
		assertThat(output.getOut()).contains("access client=team-l pool=logged key=k0 attempts=1 status=200 "
				+ "model=claude-opus-4-7 model_class=opus input_tokens=12 output_tokens=56 cache_read_tokens=4000 "
				+ "cache_creation_tokens=300 duration_ms=")
			.contains("session=session-42")
			.doesNotContain(CLIENT_TOKEN)
			.doesNotContain(SECRET);
	}

	@Test
	void aStreamTheCallerLeavesMidwayIsLoggedAsCancelled(CapturedOutput output) {
		Sinks.Many<String> events = Sinks.many().unicast().onBackpressureBuffer();
		upstream.then((request, response) -> response.header("Content-Type", "text/event-stream")
			.sendString(events.asFlux())
			.then());
		Sinks.One<Boolean> first = Sinks.one();
		Disposable call = WebClient.builder()
			.clientConnector(new ReactorClientHttpConnector(HttpClient.create()))
			.baseUrl("http://127.0.0.1:" + this.port)
			.build()
			.post()
			.uri("/v1/messages")
			.header("x-api-key", CLIENT_TOKEN)
			.header("x-claude-code-session-id", "session-cut")
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"model\":\"claude-opus-4-7\",\"stream\":true}")
			.retrieve()
			.bodyToFlux(DataBuffer.class)
			.subscribe((buffer) -> {
				DataBufferUtils.release(buffer);
				first.tryEmitValue(true);
			});
		try {
			events.tryEmitNext("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
					+ "{\"input_tokens\":11,\"output_tokens\":1}}}\n\n");
			assertThat(first.asMono().block(Duration.ofSeconds(10))).isTrue();

			call.dispose();

			await().atMost(Duration.ofSeconds(10)).until(() -> output.getOut().contains("session=session-cut"));
			String line = output.getOut()
				.lines()
				.filter((l) -> l.contains("session=session-cut"))
				.findFirst()
				.orElseThrow();
			assertThat(line).contains("status=200").contains("input_tokens=11").endsWith("cancelled=true");
		}
		finally {
			call.dispose();
			events.tryEmitComplete();
		}
	}

	@Test
	void aRefusedRequestIsLoggedAndCallerValuesAreCleaned(CapturedOutput output) {
		this.client.post()
			.uri("/v1/messages")
			.header("x-claude-code-session-id", "evil;[31m session=x " + "x".repeat(200))
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"model\":\"claude-opus-4-7\"}")
			.exchange()
			.expectStatus()
			.isUnauthorized()
			.expectBody()
			.returnResult();

		// the other anonymous request of this class may be logged during this test: this one's line has its session
		await().atMost(Duration.ofSeconds(5)).until(() -> output.getOut().contains("session=evil"));
		String line = output.getOut()
			.lines()
			.filter((l) -> l.contains("access client=anonymous") && l.contains("session=evil"))
			.findFirst()
			.orElseThrow();
		assertThat(line).contains("status=401").contains("key=-").contains("input_tokens=0");
		assertThat(line.substring(line.indexOf("session=") + "session=".length()))
			.isEqualTo("evil__31m_session_x_" + "x".repeat(200));
	}

	@Test
	void aSessionIdTooLongToBeUsedIsNotLogged(CapturedOutput output) {
		this.client.post()
			.uri("/v1/messages")
			.header("x-claude-code-session-id", "s".repeat(CallerText.MAX_SESSION_ID_LENGTH + 1))
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"model\":\"claude-opus-4-7\"}")
			.exchange()
			.expectStatus()
			.isUnauthorized()
			.expectBody()
			.returnResult();

		// only the other anonymous request of this class, whose line may land during this test, has a session
		await().atMost(Duration.ofSeconds(5)).until(() -> anonymousLinesWithoutEvilSession(output).findAny().isPresent());
		String line = anonymousLinesWithoutEvilSession(output).findFirst().orElseThrow();
		assertThat(line).doesNotContain("session=");
	}

	private static Stream<String> anonymousLinesWithoutEvilSession(CapturedOutput output) {
		return output.getOut()
			.lines()
			.filter((l) -> l.contains("access client=anonymous") && !l.contains("session=evil"));
	}

}
