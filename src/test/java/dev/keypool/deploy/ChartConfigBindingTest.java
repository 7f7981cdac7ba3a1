package dev.keypool.deploy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import dev.keypool.config.KeypoolProperties;
import dev.keypool.config.KeypoolPropertiesValidator;
import dev.keypool.provider.ProviderDialects;
import org.junit.jupiter.api.Test;

import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.PropertySourcesPlaceholdersResolver;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.cloud.gateway.config.GatewayProperties;
import org.springframework.cloud.gateway.route.RouteDefinition;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.core.io.ClassPathResource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The application.yaml the chart puts in the ConfigMap goes through the gateway's own
 * configuration binding and startup validation, layered over the packaged application.yaml as
 * {@code spring.config.additional-location} layers it at run time, with the Secret's environment
 * variables standing in as dummy values. A chart that renders a configuration the gateway would
 * refuse fails here rather than in a crash-looping pod.
 */
class ChartConfigBindingTest {

	@Test
	void defaultConfigMapIsAcceptedByTheGateway() throws IOException {
		Chart.Rendered chart = Chart.renderDefaults();

		Loaded loaded = load(chart);

		assertThat(loaded.problems()).isEmpty();
		assertThat(loaded.properties().pools()).containsOnlyKeys("anthropic");
		assertThat(loaded.properties().clients()).hasSize(1);
		assertThat(loaded.routes()).extracting(RouteDefinition::getId).containsExactly("anthropic");
	}

	@Test
	void productionShapedValuesWithRedisAndTwoPoolsAreAcceptedByTheGateway() throws IOException {
		Chart.Rendered chart = Chart.render(Map.of(), Path.of("src/test/resources/deploy/values-redis-two-pools.yaml"));

		Loaded loaded = load(chart);

		assertThat(loaded.problems()).isEmpty();
		assertThat(loaded.properties().state().store()).isEqualTo(KeypoolProperties.StoreType.REDIS);
		assertThat(loaded.properties().pools()).containsOnlyKeys("anthropic", "anthropic-batch");
		assertThat(loaded.properties().pools().get("anthropic").keys()).hasSize(2);
	}

	@Test
	void aChartConfigTheGatewayWouldRefuseIsCaught() throws IOException {
		Chart.Rendered chart = Chart.render(Map.of(
				"config.spring.cloud.gateway.server.webflux.routes[0].id", "anthropic",
				"config.spring.cloud.gateway.server.webflux.routes[0].uri", "https://api.anthropic.com",
				"config.spring.cloud.gateway.server.webflux.routes[0].predicates[0]", "Path=/v1/**",
				"config.spring.cloud.gateway.server.webflux.routes[0].filters[0]", "KeyFailover=claude"));

		Loaded loaded = load(chart);

		assertThat(loaded.problems()).singleElement().asString().contains("unknown pool 'claude'");
	}

	@Test
	void chartSettingsOverrideThePackagedDefaultsWhereTheyMustAgree() throws IOException {
		Chart.Rendered chart = Chart.render(Map.of("ports.http", 9090));

		Binder binder = binder(chart);

		assertThat(binder.bind("server.port", Integer.class).get()).isEqualTo(9090);
		assertThat(binder.bind("management.server.port", Integer.class).get()).isEqualTo(8081);
		assertThat(binder.bind("server.shutdown", String.class).get()).isEqualTo("graceful");
	}

	private static Loaded load(Chart.Rendered chart) throws IOException {
		Binder binder = binder(chart);
		KeypoolProperties properties = binder.bindOrCreate("keypool", Bindable.of(KeypoolProperties.class));
		GatewayProperties gateway = binder.bindOrCreate("spring.cloud.gateway.server.webflux",
				Bindable.of(GatewayProperties.class));
		List<String> problems = new KeypoolPropertiesValidator(ProviderDialects.builtIn().names())
			.validate(properties, gateway.getRoutes());
		return new Loaded(properties, gateway.getRoutes(), problems);
	}

	/**
	 * The environment a pod sees: Secret-provided variables (dummy values), then the ConfigMap's
	 * application.yaml, then the packaged one.
	 */
	private static Binder binder(Chart.Rendered chart) throws IOException {
		YamlPropertySourceLoader yaml = new YamlPropertySourceLoader();
		MutablePropertySources sources = new MutablePropertySources();

		Map<String, Object> env = new TreeMap<>();
		for (String name : ChartDefaultsTest.placeholders(chart.applicationYaml())) {
			env.put(name, "dummy-" + name.toLowerCase());
		}
		sources.addLast(new MapPropertySource("secret-env", env));
		for (PropertySource<?> source : yaml.load("configmap",
				new ByteArrayResource(chart.applicationYaml().getBytes(StandardCharsets.UTF_8)))) {
			sources.addLast(source);
		}
		for (PropertySource<?> source : yaml.load("packaged", new ClassPathResource("application.yaml"))) {
			sources.addLast(source);
		}
		return new Binder(ConfigurationPropertySources.from(sources), new PropertySourcesPlaceholdersResolver(sources));
	}

	record Loaded(KeypoolProperties properties, List<RouteDefinition> routes, List<String> problems) {

		Loaded {
			problems = new ArrayList<>(problems);
		}

	}

}
