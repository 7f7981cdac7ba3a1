package dev.keypool.config;

import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.Environment;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.StandardEnvironment;

/**
 * Says why a route names a pool while none is configured. Usually the pools are there but
 * under a misspelt name ({@code keypool.pool.*}, {@code keypol.pools.*}), which Spring ignores
 * without a word; this finds such a property and names the one that was probably meant.
 * <p>
 * Only configuration files, command-line arguments and system properties are searched: the
 * environment variables a deployment sets for secrets ({@code KEYPOOL_CLIENT_TOKEN}) would
 * otherwise look like misspelt properties.
 */
final class NoPoolsExplanation {

	private static final String PREFIX = "keypool";

	/** The properties under {@code keypool.}, normalized as Spring's relaxed binding compares them. */
	private static final Map<String, String> KNOWN = known();

	private NoPoolsExplanation() {
	}

	/** A clause for the unknown-pool message, starting with "no pools are configured". */
	static String explain(Environment environment) {
		String misspelt = misspelt(environment);
		if (misspelt == null) {
			return "no pools are configured: no keypool.pools.* property is set; is your configuration file loaded?";
		}
		return "no pools are configured; " + misspelt;
	}

	/** The likeliest misspelt property with what was meant, or null when there is none. */
	private static String misspelt(Environment environment) {
		if (!(environment instanceof ConfigurableEnvironment configurable)) {
			return null;
		}
		List<String> found = new ArrayList<>();
		for (PropertySource<?> source : configurable.getPropertySources()) {
			if (source instanceof EnumerablePropertySource<?> enumerable
					&& !StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME.equals(source.getName())) {
				for (String name : enumerable.getPropertyNames()) {
					String meant = meant(name);
					if (meant != null) {
						found.add(name + " is not a keypool property: did you mean " + meant + "?");
						if (meant.equals(PREFIX + ".pools")) {
							return found.get(found.size() - 1);
						}
					}
				}
			}
		}
		return found.isEmpty() ? null : found.get(0);
	}

	/** What {@code name} probably stands for, or null when it is not a misspelt keypool property. */
	static String meant(String name) {
		String[] segments = name.split("\\.");
		if (segments.length < 2) {
			return null;
		}
		String first = normalized(segments[0]);
		String second = segments[1].replaceAll("\\[.*$", "");
		if (first.equals(PREFIX)) {
			if (KNOWN.containsKey(normalized(second))) {
				return null;
			}
			String closest = closest(second);
			return (closest != null) ? PREFIX + "." + closest : "one of keypool." + String.join(", keypool.", KNOWN.values());
		}
		if (first.length() >= 5 && distance(first, PREFIX) <= 2) {
			String known = KNOWN.get(normalized(second));
			String closest = (known != null) ? known : closest(second);
			return PREFIX + "." + ((closest != null) ? closest : second);
		}
		return null;
	}

	private static String closest(String segment) {
		String best = null;
		int bestDistance = 3;
		for (Map.Entry<String, String> known : KNOWN.entrySet()) {
			int distance = distance(normalized(segment), known.getKey());
			if (distance < bestDistance) {
				best = known.getValue();
				bestDistance = distance;
			}
		}
		return best;
	}

	private static Map<String, String> known() {
		Map<String, String> known = new LinkedHashMap<>();
		for (RecordComponent component : KeypoolProperties.class.getRecordComponents()) {
			String kebab = component.getName().replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
			known.put(normalized(kebab), kebab);
		}
		known.put("demo", "demo");
		return known;
	}

	private static String normalized(String segment) {
		return segment.replace("-", "").replace("_", "").toLowerCase(Locale.ROOT);
	}

	/** Levenshtein distance. */
	static int distance(String a, String b) {
		int[] previous = new int[b.length() + 1];
		int[] current = new int[b.length() + 1];
		for (int j = 0; j <= b.length(); j++) {
			previous[j] = j;
		}
		for (int i = 1; i <= a.length(); i++) {
			current[0] = i;
			for (int j = 1; j <= b.length(); j++) {
				int substitution = previous[j - 1] + ((a.charAt(i - 1) == b.charAt(j - 1)) ? 0 : 1);
				current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
			}
			int[] swap = previous;
			previous = current;
			current = swap;
		}
		return previous[b.length()];
	}

}
