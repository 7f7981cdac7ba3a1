package dev.keypool.state;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.opentest4j.TestAbortedException;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;

/**
 * A real Redis for tests, private to the test class: Testcontainers' when a Docker engine
 * is available, else a {@code redis-server} process of its own on a free port (never the
 * system Redis). It can be stopped and started again on the same port (empty: nothing is
 * persisted), and paused and resumed (unreachable, data kept), for outage tests.
 * <p>
 * Without Docker and without {@code redis-server} the tests are skipped, except with
 * {@code CI=true}, where they fail: in CI they must run. {@code REDIS_SERVER} names the
 * binary if it is not {@code /usr/bin/redis-server} or on the {@code PATH}.
 *
 * <pre>
 * &#64;RegisterExtension
 * static final RedisServerSupport redis = new RedisServerSupport();
 * </pre>
 */
public final class RedisServerSupport implements BeforeAllCallback, AfterAllCallback {

	private static final String IMAGE = "redis:7-alpine";

	private static final Duration STARTUP = Duration.ofSeconds(10);

	private Backend backend;

	private int port;

	@Override
	public void beforeAll(ExtensionContext context) {
		if (this.backend != null) {
			return;
		}
		this.port = freePort();
		Backend chosen = choose();
		chosen.start();
		this.backend = chosen;
	}

	@Override
	public void afterAll(ExtensionContext context) {
		if (this.backend != null) {
			this.backend.stop();
			this.backend = null;
		}
	}

	public String host() {
		return "127.0.0.1";
	}

	public int port() {
		return this.port;
	}

	/** Stops Redis; its data is gone. */
	public void stop() {
		this.backend.stop();
	}

	/** Starts Redis again, empty, on the same port. */
	public void start() {
		this.backend.start();
	}

	/** Freezes Redis: connections stay open, nothing answers, data is kept. */
	public void pause() {
		this.backend.pause();
	}

	public void resume() {
		this.backend.resume();
	}

	/** Removes everything, so a test does not see the previous one's keys. */
	public void flushAll() {
		String reply = command("FLUSHALL");
		if (!"OK".equals(reply)) {
			throw new IllegalStateException("FLUSHALL answered " + reply);
		}
	}

	/**
	 * Sends one inline command on a connection of its own and returns the reply: a status
	 * or integer as text, a bulk string's content or {@code null}, an error as
	 * {@code "-ERR ..."}; a connection failure also reads as an error.
	 */
	public String command(String inline) {
		try (Socket socket = new Socket()) {
			socket.connect(new InetSocketAddress(host(), this.port), 1000);
			socket.setSoTimeout(2000);
			OutputStream out = socket.getOutputStream();
			out.write((inline + "\r\n").getBytes(StandardCharsets.UTF_8));
			out.flush();
			InputStream in = socket.getInputStream();
			String line = readLine(in);
			if (line.startsWith("$")) {
				int length = Integer.parseInt(line.substring(1));
				if (length < 0) {
					return null;
				}
				byte[] content = in.readNBytes(length + 2);
				return new String(content, 0, length, StandardCharsets.UTF_8);
			}
			return line.startsWith("-") ? line : line.substring(1);
		}
		catch (IOException ex) {
			return "-" + ex;
		}
	}

	private static String readLine(InputStream in) throws IOException {
		StringBuilder line = new StringBuilder();
		for (int c = in.read(); c != -1 && c != '\n'; c = in.read()) {
			if (c != '\r') {
				line.append((char) c);
			}
		}
		return line.toString();
	}

	private Backend choose() {
		String whyNot;
		try {
			if (DockerClientFactory.instance().isDockerAvailable()) {
				return new ContainerBackend();
			}
			whyNot = "no Docker engine";
		}
		catch (RuntimeException | LinkageError ex) {
			whyNot = "no Docker engine (" + ex + ")";
		}
		Path binary = redisServerBinary();
		if (binary != null) {
			return new ProcessBackend(binary);
		}
		String message = "No Redis for the tests: " + whyNot + " and no redis-server binary "
				+ "(install the redis-server package or set REDIS_SERVER)";
		if ("true".equalsIgnoreCase(System.getenv("CI"))) {
			throw new IllegalStateException(message + "; CI=true, so these tests must not be skipped");
		}
		throw new TestAbortedException(message);
	}

	private static Path redisServerBinary() {
		String configured = System.getenv("REDIS_SERVER");
		if (configured != null && !configured.isBlank()) {
			return Files.isExecutable(Path.of(configured)) ? Path.of(configured) : null;
		}
		Path usual = Path.of("/usr/bin/redis-server");
		if (Files.isExecutable(usual)) {
			return usual;
		}
		String path = System.getenv("PATH");
		if (path != null) {
			for (String dir : path.split(File.pathSeparator)) {
				Path candidate = Path.of(dir, "redis-server");
				if (Files.isExecutable(candidate)) {
					return candidate;
				}
			}
		}
		return null;
	}

	private static int freePort() {
		try (ServerSocket socket = new ServerSocket(0)) {
			socket.setReuseAddress(true);
			return socket.getLocalPort();
		}
		catch (IOException ex) {
			throw new IllegalStateException("No free port", ex);
		}
	}

	private void awaitPong() {
		try {
			Awaitility.await("Redis answering PING on port " + this.port)
				.atMost(STARTUP)
				.pollInterval(Duration.ofMillis(20))
				.until(() -> "PONG".equals(command("PING")));
		}
		catch (ConditionTimeoutException ex) {
			throw new IllegalStateException("Redis did not answer PING on port " + this.port + " within " + STARTUP, ex);
		}
	}

	private interface Backend {

		void start();

		void stop();

		void pause();

		void resume();

	}

	private final class ProcessBackend implements Backend {

		private final Path binary;

		private Process process;

		ProcessBackend(Path binary) {
			this.binary = binary;
		}

		@Override
		public void start() {
			try {
				this.process = new ProcessBuilder(this.binary.toString(), "--port", Integer.toString(port), "--save",
						"", "--appendonly", "no", "--bind", "127.0.0.1")
					.redirectErrorStream(true)
					.redirectOutput(ProcessBuilder.Redirect.DISCARD)
					.start();
			}
			catch (IOException ex) {
				throw new IllegalStateException("Could not start " + this.binary, ex);
			}
			awaitPong();
		}

		@Override
		public void stop() {
			if (this.process == null) {
				return;
			}
			resume();
			this.process.destroy();
			try {
				if (!this.process.waitFor(5, TimeUnit.SECONDS)) {
					this.process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
				}
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
			this.process = null;
		}

		@Override
		public void pause() {
			signal("-STOP");
		}

		@Override
		public void resume() {
			signal("-CONT");
		}

		private void signal(String signal) {
			try {
				Process kill = new ProcessBuilder("kill", signal, Long.toString(this.process.pid())).start();
				kill.waitFor(5, TimeUnit.SECONDS);
			}
			catch (IOException ex) {
				throw new IllegalStateException("Could not send " + signal + " to redis-server", ex);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}

	}

	private final class ContainerBackend implements Backend {

		private GenericContainer<?> container;

		@Override
		@SuppressWarnings("resource")
		public void start() {
			// bound to the same host port every time, so a restart is found where clients look
			this.container = new GenericContainer<>(IMAGE).withCommand("redis-server", "--save", "", "--appendonly", "no")
				.withExposedPorts(6379);
			this.container.setPortBindings(List.of(port + ":6379"));
			this.container.start();
			awaitPong();
		}

		@Override
		public void stop() {
			if (this.container != null) {
				this.container.stop();
				this.container = null;
			}
		}

		@Override
		public void pause() {
			this.container.getDockerClient().pauseContainerCmd(this.container.getContainerId()).exec();
		}

		@Override
		public void resume() {
			this.container.getDockerClient().unpauseContainerCmd(this.container.getContainerId()).exec();
		}

	}

}
