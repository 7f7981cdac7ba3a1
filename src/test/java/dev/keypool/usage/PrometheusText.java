package dev.keypool.usage;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.springframework.test.web.reactive.server.WebTestClient;

/** One Prometheus text scrape: the samples of one family, by their label sets. */
record PrometheusText(Map<Map<String, String>, Double> samples) {

	private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)\\{(.*)}\\s+(\\S+)$");

	private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");

	static PrometheusText family(String text, String name) {
		Map<Map<String, String>, Double> samples = new java.util.HashMap<>();
		for (String line : text.split("\n")) {
			Matcher sample = SAMPLE.matcher(line);
			if (line.startsWith("#") || !sample.matches() || !sample.group(1).equals(name)) {
				continue;
			}
			Map<String, String> labels = new TreeMap<>();
			Matcher label = LABEL.matcher(sample.group(2));
			while (label.find()) {
				labels.put(label.group(1), label.group(2));
			}
			samples.put(labels, Double.parseDouble(sample.group(3)));
		}
		return new PrometheusText(samples);
	}

	/** The {@code keypool_tokens_total} family of a gateway's scrape on its management port. */
	static PrometheusText tokens(int managementPort) {
		byte[] scrape = WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + managementPort)
			.build()
			.get()
			.uri("/actuator/prometheus")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.returnResult()
			.getResponseBody();
		return family(new String(scrape, StandardCharsets.UTF_8), "keypool_tokens_total");
	}

	/** How many tokens of {@code type} were counted with these labels since {@code before}. */
	double tokensSince(PrometheusText before, String[] labels, String type) {
		String[] withType = Arrays.copyOf(labels, labels.length + 2);
		withType[labels.length] = "type";
		withType[labels.length + 1] = type;
		return sum(withType) - before.sum(withType);
	}

	/** The sum of the samples whose labels include all the given pairs. */
	double sum(String... labelPairs) {
		double sum = 0;
		for (Map.Entry<Map<String, String>, Double> sample : this.samples.entrySet()) {
			boolean matches = true;
			for (int i = 0; i < labelPairs.length; i += 2) {
				matches &= labelPairs[i + 1].equals(sample.getKey().get(labelPairs[i]));
			}
			if (matches) {
				sum += sample.getValue();
			}
		}
		return sum;
	}

	/** The distinct values of one label among the samples whose labels include all the given pairs. */
	Set<String> values(String label, String... labelPairs) {
		Set<String> values = new TreeSet<>();
		for (Map<String, String> labels : this.samples.keySet()) {
			boolean matches = true;
			for (int i = 0; i < labelPairs.length; i += 2) {
				matches &= labelPairs[i + 1].equals(labels.get(labelPairs[i]));
			}
			if (matches) {
				values.add(labels.get(label));
			}
		}
		return values;
	}

}
