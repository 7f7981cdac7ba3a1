package dev.keypool.deploy;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

import static org.assertj.core.api.Assertions.fail;

/**
 * Prometheus' {@code promtool} (Debian package {@code prometheus}). Tests that need it are skipped
 * on a machine without it, except in CI ({@code CI=true}), where its absence fails them: CI
 * installs it, so a missing promtool there means the check silently stopped running.
 */
final class Promtool {

	private Promtool() {
	}

	static Path require() {
		Optional<Path> promtool = find();
		if (promtool.isEmpty()) {
			String message = "promtool is not on PATH (apt-get install prometheus)";
			if ("true".equalsIgnoreCase(System.getenv("CI"))) {
				fail(message + "; CI=true, so the PromQL checks must run");
			}
			Assumptions.abort(message);
		}
		return promtool.get();
	}

	static Optional<Path> find() {
		String path = System.getenv().getOrDefault("PATH", "");
		for (String dir : path.split(File.pathSeparator)) {
			if (dir.isEmpty()) {
				continue;
			}
			Path candidate = Path.of(dir, "promtool");
			if (Files.isExecutable(candidate)) {
				return Optional.of(candidate);
			}
		}
		return Optional.empty();
	}

	/** Runs promtool with the arguments; returns its exit code and combined output. */
	static Result run(Path workingDirectory, String... arguments) throws IOException, InterruptedException {
		List<String> command = new ArrayList<>();
		command.add(require().toString());
		command.addAll(List.of(arguments));
		Process process = new ProcessBuilder(command).directory(workingDirectory.toFile())
			.redirectErrorStream(true)
			.start();
		process.getOutputStream().close();
		String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
		if (!process.waitFor(30, TimeUnit.SECONDS)) {
			process.destroyForcibly();
			fail("promtool " + String.join(" ", arguments) + " did not finish in 30 s");
		}
		return new Result(process.exitValue(), output);
	}

	record Result(int exitCode, String output) {
	}

}
