package dev.keypool.demo;

import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.keypool.KeypoolGatewayApplication;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyState;
import dev.keypool.pool.PoolKey;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's demo walkthrough, run as a newcomer runs it on a fresh start: first the request
 * the ready line offers, then exactly the README's loop, parsed from the README itself; the
 * output must be the one the README shows, and the rate-limited key must be back within the
 * 10 s the README promises.
 */
class DemoWalkthroughIntegrationTest {

	private static final Pattern LOOP = Pattern.compile(
			"```bash\nfor i in ([0-9 ]+); do\n(.*?)\ndone\n```\n\nOn a fresh start it prints:\n\n```text\n(.*?)```",
			Pattern.DOTALL);

	private static final Pattern HEADER_ARG = Pattern.compile("-H '([^']*)'");

	private static final Pattern DATA_ARG = Pattern.compile("-d '([^']*)'");

	private static final Pattern URL_ARG = Pattern.compile("(http://localhost:8080\\S*)");

	/** The README's {@code grep -i -E '^HTTP|x-keypool'}. */
	private static final Pattern SHOWN = Pattern.compile("^HTTP|x-keypool", Pattern.CASE_INSENSITIVE);

	static ConfigurableApplicationContext context;

	static int port;

	@BeforeAll
	static void startDemo() throws IOException {
		try (ServerSocket socket = new ServerSocket(0)) {
			port = socket.getLocalPort();
		}
		context = new SpringApplicationBuilder(KeypoolGatewayApplication.class).profiles("demo")
			.run("--server.port=" + port, "--management.server.port=0", "--keypool.demo.delta-delay=0ms");
	}

	@AfterAll
	static void stopDemo() {
		context.close();
	}

	@Test
	void theReadmesWalkthroughPrintsWhatTheReadmeShowsEvenAfterTheReadyLinesRequest() throws IOException {
		Matcher walkthrough = LOOP.matcher(Files.readString(Path.of("README.md")));
		assertThat(walkthrough.find()).as("README.md: a bash loop followed by 'On a fresh start it prints:'").isTrue();
		int times = walkthrough.group(1).trim().split(" +").length;
		String curl = walkthrough.group(2).replace("\\\n", " ");
		List<String> expected = walkthrough.group(3).lines().toList();

		// A newcomer copies the ready line's curl first; it must not change what the loop shows.
		String tryFirst = DemoUpstreamConfiguration.firstRequest("http://localhost:8080");
		assertThat(Files.readString(Path.of("README.md"))).as("the README's ready line").contains("try: " + tryFirst);
		assertThat(shown(send(tryFirst))).contains("X-Keypool-Key: primary");

		List<String> printed = new ArrayList<>();
		for (int i = 0; i < times; i++) {
			printed.addAll(shown(send(curl)));
		}
		assertThat(printed).containsExactlyElementsOf(expected);

		// "About 10 s later primary serves again": no cooldown of primary outlasts the 429's retry-after.
		KeyPool pool = context.getBean(KeyPools.class).get("anthropic").orElseThrow();
		PoolKey primary = pool.keys().get(0);
		KeyState state = pool.state(primary, "sonnet");
		assertThat(state.cooldownUntil()).as("primary cools down for the walkthrough's model class").isNotNull();
		assertThat(Duration.between(Instant.now(), state.cooldownUntil())).isLessThanOrEqualTo(Duration.ofSeconds(10));
	}

	/** The lines of a response head that the README's grep keeps, without their CR. */
	private static List<String> shown(String head) {
		return head.lines().filter((line) -> SHOWN.matcher(line).find()).toList();
	}

	/** Runs one README curl (URL, -H and -d arguments) over a plain socket; the response head as sent. */
	private static String send(String curl) throws IOException {
		Matcher url = URL_ARG.matcher(curl);
		assertThat(url.find()).as("a localhost:8080 URL in: " + curl).isTrue();
		URI uri = URI.create(url.group(1));
		Matcher data = DATA_ARG.matcher(curl);
		byte[] body = data.find() ? data.group(1).getBytes(StandardCharsets.UTF_8) : new byte[0];
		StringBuilder head = new StringBuilder((body.length > 0) ? "POST " : "GET ").append(uri.getRawPath())
			.append(" HTTP/1.1\r\nHost: localhost:")
			.append(port)
			.append("\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n");
		Matcher header = HEADER_ARG.matcher(curl);
		while (header.find()) {
			head.append(header.group(1)).append("\r\n");
		}
		if (body.length > 0) {
			head.append("Content-Length: ").append(body.length).append("\r\n");
		}
		head.append("Connection: close\r\n\r\n");
		try (Socket socket = new Socket("127.0.0.1", port)) {
			socket.setSoTimeout(20_000);
			OutputStream out = socket.getOutputStream();
			out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
			out.write(body);
			out.flush();
			String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
			int end = response.indexOf("\r\n\r\n");
			assertThat(end).as("a complete response head").isPositive();
			return response.substring(0, end).toLowerCase(Locale.ROOT).startsWith("http/1.1") ? response.substring(0, end)
					: response;
		}
	}

}
