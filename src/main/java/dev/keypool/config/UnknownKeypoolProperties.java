package dev.keypool.config;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName.Form;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.core.env.Environment;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.StandardEnvironment;

/**
 * Strict binding: a property under {@code keypool.} that names nothing in
 * {@link KeypoolProperties} is a mistake, never something to ignore. A misspelt
 * {@code byok: false} would otherwise leave the default ({@code true}) in force without a word.
 * <p>
 * The known names are the records' components, found by reflection, so a property added to a
 * record is known without a change here (configuration metadata would be the other source, but
 * it is generated at build time and a stale copy would refuse a valid property). Map keys (pool
 * names) and list indexes are the user's data and accept anything. Names are compared as Spring's
 * relaxed binding compares them ({@code max-wait}, {@code maxWait} and {@code max_wait} alike).
 * <p>
 * Environment variables are not checked: deployments set {@code KEYPOOL_*} variables that are
 * values for placeholders ({@code ${KEYPOOL_CLIENT_TOKEN}}), not properties, and they would all
 * read as unknown ones. {@code keypool.demo.*} holds the demo profile's placeholders.
 */
final class UnknownKeypoolProperties {

	private static final ConfigurationPropertyName ROOT = ConfigurationPropertyName.of("keypool");

	/** Names under it are placeholders of the demo profile, not properties. */
	private static final String DEMO = "demo";

	private UnknownKeypoolProperties() {
	}

	/** One line per unknown property, naming it and, when one is close, the property meant. */
	static List<String> problems(Environment environment) {
		Map<ConfigurationPropertyName, String> unknown = new LinkedHashMap<>();
		for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
			if (!(source instanceof IterableConfigurationPropertySource iterable) || isEnvironmentVariables(source)) {
				continue;
			}
			iterable.filter(ROOT::isAncestorOf).forEach((name) -> {
				if (!unknown.containsKey(name)) {
					String problem = problem(name);
					if (problem != null) {
						unknown.put(name, problem);
					}
				}
			});
		}
		return new ArrayList<>(unknown.values());
	}

	private static boolean isEnvironmentVariables(ConfigurationPropertySource source) {
		return source.getUnderlyingSource() instanceof PropertySource<?> underlying
				&& StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME.equals(underlying.getName());
	}

	/** What is wrong with {@code name}, or {@code null} when it names a known property. */
	static String problem(ConfigurationPropertyName name) {
		Type type = KeypoolProperties.class;
		for (int i = 1; i < name.getNumberOfElements(); i++) {
			Class<?> raw = raw(type);
			String element = name.getElement(i, Form.UNIFORM);
			if (i == 1 && element.equals(DEMO)) {
				return null;
			}
			if (raw.isRecord()) {
				RecordComponent component = component(raw, element);
				if (component == null) {
					return unknown(name, i, raw);
				}
				type = component.getGenericType();
			}
			else if (Map.class.isAssignableFrom(raw)) {
				type = argument(type, 1);
			}
			else if (Collection.class.isAssignableFrom(raw)) {
				if (!name.isNumericIndex(i)) {
					return name + ": unknown property (" + name.chop(i) + " is a list: entries are written [0], [1], ...)";
				}
				type = argument(type, 0);
			}
			else {
				return name + ": unknown property (" + name.chop(i) + " takes a value, not properties)";
			}
		}
		return null;
	}

	private static String unknown(ConfigurationPropertyName name, int index, Class<?> record) {
		String element = name.getElement(index, Form.UNIFORM);
		String closest = null;
		int best = Math.max(2, element.length() / 3) + 1;
		for (RecordComponent component : record.getRecordComponents()) {
			int distance = NoPoolsExplanation.distance(element, uniform(component.getName()));
			if (distance < best) {
				best = distance;
				closest = kebab(component.getName());
			}
		}
		String problem = name + ": unknown property";
		return (closest != null) ? problem + " (did you mean " + name.chop(index).append(closest) + "?)" : problem;
	}

	private static RecordComponent component(Class<?> record, String element) {
		for (RecordComponent component : record.getRecordComponents()) {
			if (uniform(component.getName()).equals(element)) {
				return component;
			}
		}
		return null;
	}

	private static Class<?> raw(Type type) {
		if (type instanceof Class<?> plain) {
			return plain;
		}
		if (type instanceof ParameterizedType parameterized) {
			return (Class<?>) parameterized.getRawType();
		}
		return Object.class;
	}

	private static Type argument(Type type, int index) {
		if (type instanceof ParameterizedType parameterized && parameterized.getActualTypeArguments().length > index) {
			return parameterized.getActualTypeArguments()[index];
		}
		return Object.class;
	}

	private static String uniform(String componentName) {
		return componentName.toLowerCase(Locale.ROOT);
	}

	private static String kebab(String componentName) {
		return componentName.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
	}

}
