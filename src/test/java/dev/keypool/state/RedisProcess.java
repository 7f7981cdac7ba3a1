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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;
import org.opentest4j.TestAbortedException;

/**
 * One {@code redis-server} process (a data node, a Cluster node or a Sentinel) of a test's own
 * Redis topology, on a free port, in a directory of its own, logging to {@code redis.log}
 * there. It can be killed with {@code SIGKILL}, as a crashed master is.
 * <p>
 * Without the binaries the tests are skipped, except with {@code CI=true}, where they fail:
 * in CI they must run ({@code .ci/run} installs the {@code redis-server} package, which brings
 * {@code redis-cli} and runs Sentinel as {@code redis-server --sentinel}).
 */
public final class RedisProcess {

	private final int port;

	private final Path dir;

	private Process process;

	private RedisProcess(int port, Path dir, Process process) {
		this.port = port;
		this.dir = dir;
		this.process = process;
	}

	/** Starts {@code redis-server} with the arguments and waits until it answers PING. */
	public static RedisProcess start(Path dir, int port, List<String> args) {
		List<String> command = new ArrayList<>();
		command.add(binary("redis-server", "REDIS_SERVER").toString());
		command.addAll(args);
		try {
			Files.createDirectories(dir);
			Process process = new ProcessBuilder(command).directory(dir.toFile())
				.redirectErrorStream(true)
				.redirectOutput(dir.resolve("redis.log").toFile())
				.start();
			RedisProcess redis = new RedisProcess(port, dir, process);
			Awaitility.await("redis-server answering on port " + port)
				.atMost(Duration.ofSeconds(10))
				.pollInterval(Duration.ofMillis(20))
				.until(() -> !process.isAlive() || !redis.command("PING").startsWith("-java"));
			if (!process.isAlive()) {
				throw new IllegalStateException("redis-server on port " + port + " exited: " + redis.log());
			}
			return redis;
		}
		catch (IOException ex) {
			throw new IllegalStateException("Could not start redis-server", ex);
		}
	}

	/** Runs {@code redis-cli} with the arguments to its end and returns its output. */
	public static String cli(List<String> args) {
		List<String> command = new ArrayList<>();
		command.add(binary("redis-cli", "REDIS_CLI").toString());
		command.addAll(args);
		try {
			Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
			byte[] out = process.getInputStream().readAllBytes();
			if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
				throw new IllegalStateException("redis-cli " + args + " failed: " + new String(out, StandardCharsets.UTF_8));
			}
			return new String(out, StandardCharsets.UTF_8);
		}
		catch (IOException ex) {
			throw new IllegalStateException("Could not run redis-cli", ex);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException(ex);
		}
	}

	public int port() {
		return this.port;
	}

	public boolean isAlive() {
		return this.process != null && this.process.isAlive();
	}

	/** {@code kill -9}: no shutdown, no goodbye to clients or replicas. */
	public void kill() {
		if (this.process != null) {
			this.process.destroyForcibly();
			waitForExit();
		}
	}

	public void stop() {
		if (this.process != null) {
			this.process.destroy();
			if (!waitForExit()) {
				kill();
			}
		}
	}

	private boolean waitForExit() {
		try {
			boolean exited = this.process.waitFor(5, TimeUnit.SECONDS);
			if (exited) {
				this.process = null;
			}
			return exited;
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return false;
		}
	}

	String log() {
		try {
			return Files.readString(this.dir.resolve("redis.log"));
		}
		catch (IOException ex) {
			return "(no log: " + ex + ")";
		}
	}

	/** One inline command on a connection of its own; see {@link #command(int, String)}. */
	public String command(String inline) {
		return command(this.port, inline);
	}

	/**
	 * Sends one inline command to {@code 127.0.0.1:port} and returns the reply: a status or
	 * integer as text, a bulk string's content or {@code null}, an array as its elements
	 * joined by spaces, an error as {@code "-ERR ..."}; a connection failure reads
	 * {@code "-java..."}.
	 */
	public static String command(int port, String inline) {
		try (Socket socket = new Socket()) {
			socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
			socket.setSoTimeout(2000);
			OutputStream out = socket.getOutputStream();
			out.write((inline + "\r\n").getBytes(StandardCharsets.UTF_8));
			out.flush();
			return reply(socket.getInputStream());
		}
		catch (IOException ex) {
			return "-" + ex;
		}
	}

	private static String reply(InputStream in) throws IOException {
		String line = readLine(in);
		if (line.startsWith("$")) {
			int length = Integer.parseInt(line.substring(1));
			if (length < 0) {
				return null;
			}
			byte[] content = in.readNBytes(length + 2);
			return new String(content, 0, length, StandardCharsets.UTF_8);
		}
		if (line.startsWith("*")) {
			int count = Integer.parseInt(line.substring(1));
			List<String> items = new ArrayList<>();
			for (int i = 0; i < count; i++) {
				items.add(reply(in));
			}
			return String.join(" ", items);
		}
		return line.startsWith("-") ? line : line.substring(1);
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

	/** A port nothing listens on now. */
	public static int freePort() {
		try (ServerSocket socket = new ServerSocket(0)) {
			socket.setReuseAddress(true);
			return socket.getLocalPort();
		}
		catch (IOException ex) {
			throw new IllegalStateException("No free port", ex);
		}
	}

	/**
	 * The binary: {@code env} names it, else {@code /usr/bin/<name>}, else the {@code PATH};
	 * missing, the test is skipped, or fails under {@code CI=true}.
	 */
	static Path binary(String name, String env) {
		Path found = find(name, env);
		if (found != null) {
			return found;
		}
		String message = "No " + name + " for the tests (install the redis-server package or set " + env + ")";
		if ("true".equalsIgnoreCase(System.getenv("CI"))) {
			throw new IllegalStateException(message + "; CI=true, so these tests must not be skipped");
		}
		throw new TestAbortedException(message);
	}

	static Path find(String name, String env) {
		String configured = System.getenv(env);
		if (configured != null && !configured.isBlank()) {
			return Files.isExecutable(Path.of(configured)) ? Path.of(configured) : null;
		}
		Path usual = Path.of("/usr/bin", name);
		if (Files.isExecutable(usual)) {
			return usual;
		}
		String path = System.getenv("PATH");
		if (path != null) {
			for (String dir : path.split(File.pathSeparator)) {
				Path candidate = Path.of(dir, name);
				if (Files.isExecutable(candidate)) {
					return candidate;
				}
			}
		}
		return null;
	}

}
