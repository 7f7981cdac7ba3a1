package dev.keypool.metrics;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Assumptions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * One Prometheus text-format scrape, as series → value. Checked by {@code promtool check
 * metrics} (a real parser); the values are read here line by line.
 */
final class Scrape {

	private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})?\\s+(\\S+)(\\s+\\S+)?$");

	private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");

	private final String text;

	private final Map<String, Double> series;

	private Scrape(String text, Map<String, Double> series) {
		this.text = text;
		this.series = series;
	}

	static Scrape parse(String text) {
		Map<String, Double> series = new LinkedHashMap<>();
		for (String line : text.split("\n")) {
			if (line.isBlank() || line.startsWith("#")) {
				continue;
			}
			Matcher sample = SAMPLE.matcher(line);
			assertThat(sample.matches()).as("sample line: %s", line).isTrue();
			Map<String, String> labels = new TreeMap<>();
			if (sample.group(3) != null) {
				Matcher label = LABEL.matcher(sample.group(3));
				while (label.find()) {
					labels.put(label.group(1), label.group(2));
				}
			}
			series.put(key(sample.group(1), labels), Double.parseDouble(sample.group(4)));
		}
		return new Scrape(text, series);
	}

	/** The value of one series, by name and label pairs in any order; fails when absent. */
	double value(String name, String... labelPairs) {
		Map<String, String> labels = new TreeMap<>();
		for (int i = 0; i < labelPairs.length; i += 2) {
			labels.put(labelPairs[i], labelPairs[i + 1]);
		}
		String key = key(name, labels);
		assertThat(this.series).as("series %s", key).containsKey(key);
		return this.series.get(key);
	}

	Map<String, Double> series() {
		return this.series;
	}

	String text() {
		return this.text;
	}

	/** The {@code # TYPE} of a metric family, or null. */
	String type(String family) {
		Matcher matcher = Pattern.compile("^# TYPE " + Pattern.quote(family) + " (\\S+)$", Pattern.MULTILINE)
			.matcher(this.text);
		return matcher.find() ? matcher.group(1) : null;
	}

	/** The {@code # HELP} of a metric family, or null. */
	String help(String family) {
		Matcher matcher = Pattern.compile("^# HELP " + Pattern.quote(family) + " (.*)$", Pattern.MULTILINE)
			.matcher(this.text);
		return matcher.find() ? matcher.group(1) : null;
	}

	private static String key(String name, Map<String, String> labels) {
		StringBuilder key = new StringBuilder(name).append('{');
		labels.forEach((label, value) -> key.append(label).append("=\"").append(value).append("\","));
		return key.append('}').toString();
	}

	/**
	 * Runs {@code promtool check metrics} (a real Prometheus text-format parser and linter).
	 * The whole scrape must parse; lint findings are tolerated only for metrics this project
	 * does not own (JVM, HTTP, gateway), while the {@code keypool_} families alone must pass
	 * without any finding. Without promtool the check fails on CI ({@code CI=true}) and is
	 * skipped elsewhere.
	 */
	void assertPromtoolAccepts() throws IOException, InterruptedException {
		String promtool = promtool();
		if (promtool == null) {
			if ("true".equalsIgnoreCase(System.getenv("CI"))) {
				fail("promtool is required on CI: apt-get install -y prometheus");
			}
			Assumptions.abort("promtool not installed (apt-get install -y prometheus)");
		}
		PromtoolResult all = promtool(promtool, this.text);
		assertThat(all.exitCode()).as("promtool parse of the whole scrape: %s", all.output()).isIn(0, 3);
		assertThat(all.output().lines().filter((line) -> line.startsWith("keypool_")))
			.as("promtool findings on keypool metrics").isEmpty();
		String own = this.text.lines()
			.filter((line) -> line.startsWith("keypool_") || line.startsWith("# HELP keypool_")
					|| line.startsWith("# TYPE keypool_"))
			.reduce("", (joined, line) -> joined + line + "\n");
		PromtoolResult keypool = promtool(promtool, own);
		assertThat(keypool.exitCode()).as("promtool check of the keypool metrics: %s", keypool.output()).isZero();
	}

	private static PromtoolResult promtool(String promtool, String input) throws IOException, InterruptedException {
		Process process = new ProcessBuilder(promtool, "check", "metrics").redirectErrorStream(true).start();
		try (OutputStream stdin = process.getOutputStream()) {
			stdin.write(input.getBytes(StandardCharsets.UTF_8));
		}
		ByteArrayOutputStream output = new ByteArrayOutputStream();
		try (InputStream stdout = process.getInputStream()) {
			stdout.transferTo(output);
		}
		assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("promtool finished").isTrue();
		return new PromtoolResult(process.exitValue(), output.toString(StandardCharsets.UTF_8));
	}

	private record PromtoolResult(int exitCode, String output) {
	}

	private static String promtool() {
		for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
			File candidate = new File(dir, "promtool");
			if (candidate.canExecute()) {
				return candidate.getPath();
			}
		}
		return null;
	}

}
