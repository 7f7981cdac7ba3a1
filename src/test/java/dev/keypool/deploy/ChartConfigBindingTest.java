package dev.keypool.deploy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.fabric8.kubernetes.api.model.Secret;

import dev.keypool.config.KeypoolProperties;
import dev.keypool.config.KeypoolPropertiesValidator;
import dev.keypool.provider.ProviderDialects;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

	/** A fenced yaml block of a Markdown file whose first line names it: {@code # values-x.yaml}. */
	private static final Pattern VALUES_BLOCK = Pattern.compile("```yaml\n# (values-[a-z-]+\\.yaml)[^\n]*\n(.*?)```",
			Pattern.DOTALL);

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

	/**
	 * The chart README's values files ({@code # values-*.yaml} blocks), used together as its
	 * upgrade command uses them: an existing Secret, a second pool, monitoring.
	 */
	@Test
	void chartReadmeValuesFilesAreAcceptedByTheGateway(@TempDir Path dir) throws IOException {
		Map<String, Path> files = new LinkedHashMap<>();
		Matcher block = VALUES_BLOCK.matcher(Files.readString(Chart.DIRECTORY.resolve("README.md")));
		while (block.find()) {
			files.put(block.group(1), Files.writeString(dir.resolve(block.group(1)), block.group(2)));
		}
		assertThat(files).containsOnlyKeys("values-existing-secret.yaml", "values-batch-pool.yaml",
				"values-monitoring.yaml");

		Chart.Rendered chart = Chart.render(List.copyOf(files.values()));
		Loaded loaded = load(chart);

		assertThat(loaded.problems()).isEmpty();
		assertThat(loaded.properties().pools()).containsOnlyKeys("anthropic", "batch");
		assertThat(loaded.properties().clients()).extracting(KeypoolProperties.Client::id)
			.containsExactly("team-a", "team-b");
		assertThat(loaded.routes()).extracting(RouteDefinition::getId).containsExactly("batch", "anthropic");
		assertThat(chart.all(Secret.class)).isEmpty();
		assertThat(chart.custom("ServiceMonitor")).hasSize(1);
		assertThat(chart.custom("PrometheusRule")).hasSize(1);
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
		List<String> problems = new KeypoolPropertiesValidator(ProviderDialects.builtIn())
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
