package dev.keypool.demo;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.keypool.KeypoolGatewayApplication;
import dev.keypool.support.RawHttp;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/local-upstream.md as written: the demo profile on a port of its own is the upstream,
 * and the guide's {@code my-test.yaml} (with that port) serves from it with the demo's keys.
 */
class LocalUpstreamGuideTest {

	private static final Pattern CONFIG = Pattern.compile("```yaml\n(# my-test\\.yaml.*?)```", Pattern.DOTALL);

	@Test
	void theGuidesConfigurationServesFromTheDemoUpstreamOnItsOwnPort(@TempDir Path dir) throws IOException {
		Matcher example = CONFIG.matcher(Files.readString(Path.of("docs/local-upstream.md")));
		assertThat(example.find()).as("a yaml block starting with '# my-test.yaml'").isTrue();
		assertThat(example.group(1)).contains("http://127.0.0.1:9090");
		int upstreamPort = freePort();
		try (ConfigurableApplicationContext upstream = new SpringApplicationBuilder(KeypoolGatewayApplication.class)
			.profiles("demo")
			.run("--server.port=" + upstreamPort, "--management.server.port=0", "--keypool.demo.delta-delay=0ms")) {
			Path file = Files.writeString(dir.resolve("my-test.yaml"),
					example.group(1).replace("http://127.0.0.1:9090", "http://127.0.0.1:" + upstreamPort));
			try (ConfigurableApplicationContext gateway = new SpringApplicationBuilder(KeypoolGatewayApplication.class)
				.run("--spring.config.additional-location=file:" + file, "--server.port=0",
						"--management.server.port=0")) {
				int port = Integer.parseInt(gateway.getEnvironment().getProperty("local.server.port"));
				RawHttp.Response first = RawHttp.exchange(port, "GET /v1/models HTTP/1.1\r\nHost: localhost\r\n"
						+ "x-api-key: local-test-token\r\nanthropic-version: 2023-06-01", new byte[0]);
				RawHttp.Response second = RawHttp.exchange(port, "GET /v1/models HTTP/1.1\r\nHost: localhost\r\n"
						+ "x-api-key: local-test-token\r\nanthropic-version: 2023-06-01", new byte[0]);

				assertThat(first.status()).isEqualTo(200);
				assertThat(first.body()).contains("claude-sonnet-4-6");
				// the guide's pool is round-robin over the demo's primary and backup keys
				assertThat(first.headers().get("x-keypool-key")).isEqualTo("first");
				assertThat(second.headers().get("x-keypool-key")).isEqualTo("second");
			}
		}
	}

	private static int freePort() throws IOException {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
	}

}
