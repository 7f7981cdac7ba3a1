package dev.keypool.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

import static org.assertj.core.api.Assertions.fail;

/**
 * The real Claude Code CLI, as pinned by {@code e2e/package-lock.json}, for end-to-end tests
 * that point it at a gateway.
 * <p>
 * The CLI is installed with {@code npm ci} the first time a test asks for it. Where npm or
 * the registry is missing, a test is skipped on a developer machine but fails under
 * {@code CI=true}, so CI never passes without having run it.
 * <p>
 * Each run gets an empty temporary {@code HOME} and an environment built from scratch: no
 * {@code ANTHROPIC_*} variable of the machine's user leaks into it, and nonessential traffic
 * (telemetry, update checks) is switched off, since tests never reach the internet.
 */
public final class ClaudeCodeCli {

	/** The version {@code e2e/package.json} pins; a different installed one is reinstalled. */
	public static final String VERSION = "2.1.332";

	private static final Duration INSTALL_TIMEOUT = Duration.ofMinutes(10);

	private static ClaudeCodeCli installed;

	private final Path binary;

	private ClaudeCodeCli(Path binary) {
		this.binary = binary;
	}

	/** The CLI, installed if needed; skips (or fails under CI) when it cannot be. */
	public static synchronized ClaudeCodeCli installed() {
		if (installed == null) {
			installed = new ClaudeCodeCli(install(e2eDirectory()));
		}
		return installed;
	}

	/**
	 * Runs {@code claude -p <prompt> --output-format json} with {@code environment} on top of a
	 * minimal one, and waits for it to exit.
	 */
	public Result print(String prompt, Map<String, String> environment, Duration timeout) {
		List<String> command = List.of(this.binary.toString(), "-p", prompt, "--output-format", "json");
		Path home = createTempHome();
		try {
			Map<String, String> env = new LinkedHashMap<>();
			env.put("PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
			env.put("HOME", home.toString());
			env.put("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
			env.put("DISABLE_TELEMETRY", "1");
			env.put("DISABLE_AUTOUPDATER", "1");
			env.put("DISABLE_ERROR_REPORTING", "1");
			env.putAll(environment);
			return run(command, env, home, timeout);
		}
		finally {
			deleteQuietly(home);
		}
	}

	private static Path e2eDirectory() {
		Path dir = Path.of(System.getProperty("user.dir")).resolve("e2e");
		if (!Files.isRegularFile(dir.resolve("package-lock.json"))) {
			fail("e2e/package-lock.json is missing under " + dir.getParent());
		}
		return dir;
	}

	private static Path install(Path e2e) {
		Path binary = e2e.resolve("node_modules/.bin/claude");
		if (Files.isExecutable(binary) && reportsPinnedVersion(binary)) {
			return binary;
		}
		Result npm;
		try {
			npm = run(List.of("npm", "ci", "--no-audit", "--no-fund"), new LinkedHashMap<>(System.getenv()), e2e,
					INSTALL_TIMEOUT);
		}
		catch (UncheckedIOException ex) {
			return unavailable("npm could not be started: " + ex.getMessage());
		}
		if (npm.exitCode() != 0 || !Files.isExecutable(binary)) {
			return unavailable("npm ci in e2e/ failed (exit " + npm.exitCode() + "): " + tail(npm.stderr()));
		}
		if (!reportsPinnedVersion(binary)) {
			return unavailable("e2e/node_modules/.bin/claude does not report version " + VERSION);
		}
		return binary;
	}

	private static boolean reportsPinnedVersion(Path binary) {
		try {
			Result version = run(List.of(binary.toString(), "--version"), Map.of("PATH",
					System.getenv().getOrDefault("PATH", "/usr/bin:/bin"), "HOME", System.getProperty("java.io.tmpdir")),
					binary.getParent(), Duration.ofSeconds(60));
			return version.exitCode() == 0 && version.stdout().startsWith(VERSION + " ");
		}
		catch (UncheckedIOException ex) {
			return false;
		}
	}

	private static Path unavailable(String reason) {
		if ("true".equalsIgnoreCase(System.getenv("CI"))) {
			fail("Claude Code CLI is required under CI: " + reason);
		}
		Assumptions.abort("Claude Code CLI unavailable: " + reason);
		return null;
	}

	private static Result run(List<String> command, Map<String, String> environment, Path directory,
			Duration timeout) {
		ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile());
		builder.environment().clear();
		builder.environment().putAll(environment);
		Process process;
		try {
			process = builder.start();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		closeQuietly(process);
		// Both streams are drained concurrently so a chatty child never blocks on a full pipe.
		CompletableFuture<String> stdout = CompletableFuture.supplyAsync(() -> readAll(process, false));
		CompletableFuture<String> stderr = CompletableFuture.supplyAsync(() -> readAll(process, true));
		try {
			if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
				process.destroyForcibly();
				fail(command.get(0) + " did not exit within " + timeout + "; stderr: " + tail(stderr.getNow("")));
			}
			return new Result(process.exitValue(), stdout.get(10, TimeUnit.SECONDS), stderr.get(10, TimeUnit.SECONDS));
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			process.destroyForcibly();
			throw new IllegalStateException("interrupted while waiting for " + command.get(0), ex);
		}
		catch (Exception ex) {
			process.destroyForcibly();
			throw new IllegalStateException("could not read the output of " + command.get(0), ex);
		}
	}

	private static void closeQuietly(Process process) {
		try {
			// No prompt is ever typed: the CLI sees end of input at once.
			process.getOutputStream().close();
		}
		catch (IOException ex) {
			// the child may already be gone
		}
	}

	private static String readAll(Process process, boolean errorStream) {
		try {
			byte[] bytes = (errorStream ? process.getErrorStream() : process.getInputStream()).readAllBytes();
			return new String(bytes, StandardCharsets.UTF_8);
		}
		catch (IOException ex) {
			return "";
		}
	}

	private static Path createTempHome() {
		try {
			return Files.createTempDirectory("claude-home");
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	private static void deleteQuietly(Path dir) {
		try (var paths = Files.walk(dir)) {
			List<Path> all = new ArrayList<>(paths.toList());
			Collections.reverse(all);
			for (Path path : all) {
				Files.deleteIfExists(path);
			}
		}
		catch (IOException ex) {
			// a leftover temporary directory is harmless
		}
	}

	private static String tail(String text) {
		return (text.length() <= 2000) ? text : text.substring(text.length() - 2000);
	}

	/** What a run printed, and how it ended. */
	public record Result(int exitCode, String stdout, String stderr) {

		/** {@code true} when the CLI finished normally and reported no error in its JSON result. */
		public boolean succeeded() {
			return this.exitCode == 0 && this.stdout.contains("\"is_error\":false");
		}

	}

}
