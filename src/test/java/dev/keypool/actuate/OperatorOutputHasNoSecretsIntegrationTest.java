package dev.keypool.actuate;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.AppenderBase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import static dev.keypool.support.UpstreamStub.json;
import static dev.keypool.support.UpstreamStub.rateLimited;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A run with failovers, both kinds of exhaustion, BYOK traffic and admin writes, logged at
 * DEBUG everywhere: no configured secret, client token, admin token or caller's own key
 * shows up in any log line or in anything the management port answers.
 */
class OperatorOutputHasNoSecretsIntegrationTest extends OperatingIntegrationTest {

	static final String OWN_KEY = "sk-ant-callers-own-key-0042";

	private final List<String> logged = new CopyOnWriteArrayList<>();

	private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);

	private final AppenderBase<ILoggingEvent> capture = new AppenderBase<>() {
		@Override
		protected void append(ILoggingEvent event) {
			StringBuilder line = new StringBuilder().append(event.getLevel())
				.append(' ')
				.append(event.getLoggerName())
				.append(' ')
				.append(event.getFormattedMessage())
				.append(' ')
				.append(event.getMDCPropertyMap())
				.append(' ')
				.append(event.getKeyValuePairs());
			if (event.getThrowableProxy() != null) {
				line.append('\n').append(ThrowableProxyUtil.asString(event.getThrowableProxy()));
			}
			OperatorOutputHasNoSecretsIntegrationTest.this.logged.add(line.toString());
		}
	};

	private Level rootLevel;

	/** Attached for each test: Spring Boot resets Logback when a context starts. */
	@BeforeEach
	void captureEverything() {
		this.capture.start();
		this.root.addAppender(this.capture);
		this.rootLevel = this.root.getLevel();
		this.root.setLevel(Level.DEBUG);
	}

	@AfterEach
	void stopCapturing() {
		this.root.setLevel(this.rootLevel);
		this.root.detachAppender(this.capture);
	}

	@Test
	void noSecretOrTokenIsLoggedOrServedByTheManagementPort() {
		List<String> served = new ArrayList<>();
		upstream.enqueue(rateLimited("30"), json(401, "{}"), json(200, "{}"));
		assertThat(postPooled()).isEqualTo(200);
		upstream.enqueue(rateLimited("5"));
		assertThat(postPooled()).isEqualTo(429);
		assertThat(postPooled()).isEqualTo(429);
		served.add(get("/actuator/health"));
		upstream.enqueue(json(401, "{}"), json(403, "{}"));
		clock.advance(Duration.ofSeconds(60));
		assertThat(postPooled()).isEqualTo(502);
		upstream.enqueue(json(200, "{}"));
		assertThat(postByok(OWN_KEY)).isEqualTo(200);
		served.add(read("/actuator/keypools"));
		served.add(read("/actuator/keypools/test"));
		served.add(read("/actuator/prometheus"));
		served.add(delete("/actuator/keypools/test/k1", "Bearer wrong-" + ADMIN_TOKEN));
		served.add(delete("/actuator/keypools/test/k1", "Bearer " + ADMIN_TOKEN));
		served.add(get("/actuator/health/readiness"));

		List<String> forbidden = new ArrayList<>(SECRETS);
		forbidden.addAll(List.of(CLIENT_TOKEN, ADMIN_TOKEN, OWN_KEY));
		assertThat(this.logged).as("captured log lines").hasSizeGreaterThan(20);
		assertThat(this.logged).filteredOn((line) -> line.contains("pool=test key=k0 available -> cooling_down"))
			.hasSize(1);
		assertThat(this.logged).filteredOn((line) -> line.startsWith("WARN") && line.contains("pool=test exhausted"))
			.hasSize(1);
		for (String secret : forbidden) {
			assertThat(this.logged).as("log lines").noneMatch((line) -> line.contains(secret));
			assertThat(served).as("management responses").noneMatch((body) -> body.contains(secret));
		}
	}

	private String get(String path) {
		return body(this.management.get().uri(path).exchange().expectBody().returnResult().getResponseBody());
	}

	private String delete(String path, String authorization) {
		return body(this.management.delete()
			.uri(path)
			.header("Authorization", authorization)
			.exchange()
			.expectBody()
			.returnResult()
			.getResponseBody());
	}

	private static String body(byte[] body) {
		return (body != null) ? new String(body, StandardCharsets.UTF_8) : "";
	}

}
