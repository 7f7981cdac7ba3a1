package dev.keypool.config;

import java.util.ArrayList;
import java.util.List;

import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.boot.origin.Origin;
import org.springframework.boot.origin.PropertySourceOrigin;
import org.springframework.boot.origin.SystemEnvironmentOrigin;
import org.springframework.boot.origin.TextResourceOrigin;
import org.springframework.core.env.Environment;
import org.springframework.core.env.PropertySource;

/**
 * Where a property of a problem line was set, from the origin Spring Boot tracks for each
 * value: a file and line, an environment variable, a command-line argument. Only the place is
 * named, never the value.
 */
public final class PropertyOrigins {

	private PropertyOrigins() {
	}

	/**
	 * Where the property a problem line starts with ({@code <property>: ...}) is set, e.g.
	 * {@code file [/etc/keypool/keypool.yaml] line 12}; for a property that is not set itself,
	 * where the first property below it is; {@code null} when neither is set anywhere.
	 */
	public static String of(String problem, Environment environment) {
		int colon = problem.indexOf(": ");
		if (colon <= 0 || !ConfigurationPropertyName.isValid(problem.substring(0, colon))) {
			return null;
		}
		Iterable<ConfigurationPropertySource> sources = ConfigurationPropertySources.get(environment);
		ConfigurationPropertyName name = ConfigurationPropertyName.of(problem.substring(0, colon));
		for (ConfigurationPropertySource source : sources) {
			ConfigurationProperty property = source.getConfigurationProperty(name);
			if (property != null) {
				return describe(property.getOrigin(), source);
			}
		}
		// not set itself (a pool without keys): where the nearest enclosing entry is set
		for (; name.getNumberOfElements() > 1; name = name.getParent()) {
			for (ConfigurationPropertySource source : sources) {
				if (source instanceof IterableConfigurationPropertySource iterable) {
					for (ConfigurationPropertyName below : iterable.filter(name::isAncestorOf)) {
						return describe(source.getConfigurationProperty(below).getOrigin(), source);
					}
				}
			}
		}
		return null;
	}

	/** Each problem line followed by where its property is set, when that is known. */
	public static List<String> annotate(List<String> problems, Environment environment) {
		List<String> annotated = new ArrayList<>(problems.size());
		for (String problem : problems) {
			String origin = of(problem, environment);
			annotated.add((origin != null) ? problem + " [set in " + origin + "]" : problem);
		}
		return annotated;
	}

	static String describe(Origin origin, ConfigurationPropertySource source) {
		if (origin instanceof SystemEnvironmentOrigin environment) {
			return "environment variable " + environment.getProperty();
		}
		if (origin instanceof TextResourceOrigin text) {
			String resource = (text.getResource() != null) ? text.getResource().getDescription() : "a file";
			return (text.getLocation() != null) ? resource + " line " + (text.getLocation().getLine() + 1) : resource;
		}
		if (origin instanceof PropertySourceOrigin property) {
			if (property.getOrigin() != null) {
				return describe(property.getOrigin(), source);
			}
			String name = property.getPropertySource().getName();
			return "commandLineArgs".equals(name) ? "a command-line argument" : "property source '" + name + "'";
		}
		if (origin != null) {
			return origin.toString();
		}
		return (source.getUnderlyingSource() instanceof PropertySource<?> underlying)
				? "property source '" + underlying.getName() + "'" : "an unnamed property source";
	}

}
