package dev.keypool.config;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName.Form;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.core.env.Environment;

/**
 * Mistakes that binding hides: properties written in a shape that binds to nothing. They
 * are found by looking at the property names themselves, never at their values.
 */
final class KeypoolEnvironmentChecks {

	private static final ConfigurationPropertyName CLIENTS = ConfigurationPropertyName.of("keypool.clients");

	private static final ConfigurationPropertyName OLD_ROUTES = ConfigurationPropertyName
		.of("spring.cloud.gateway.routes");

	private KeypoolEnvironmentChecks() {
	}

	/**
	 * {@code keypool.clients} written as a map ({@code team-a: token}) binds to no client at
	 * all, so every caller would silently become a BYOK caller.
	 */
	static List<String> problems(Environment environment) {
		Set<String> mapEntries = new TreeSet<>();
		names(environment, CLIENTS::isAncestorOf).forEach((name) -> {
			String element = name.getElement(CLIENTS.getNumberOfElements(), Form.UNIFORM);
			if (!element.chars().allMatch(Character::isDigit)) {
				mapEntries.add(element);
			}
		});
		return mapEntries.isEmpty() ? List.of()
				: List.of("keypool.clients: must be a list of entries with id and token (- id: team-a, token: ...), "
						+ "but is written as a map with entries " + mapEntries);
	}

	/** Routes under the prefix older Spring Cloud Gateway versions used are not routed. */
	static boolean hasRoutesUnderOldPrefix(Environment environment) {
		return !names(environment, (name) -> OLD_ROUTES.equals(name) || OLD_ROUTES.isAncestorOf(name)).isEmpty();
	}

	private static Set<ConfigurationPropertyName> names(Environment environment,
			Predicate<ConfigurationPropertyName> filter) {
		Set<ConfigurationPropertyName> names = new TreeSet<>();
		for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
			if (source instanceof IterableConfigurationPropertySource iterable) {
				iterable.filter(filter).forEach(names::add);
			}
		}
		return names;
	}

}
