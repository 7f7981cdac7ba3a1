package dev.keypool.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.yaml.snakeyaml.Yaml;

import dev.keypool.KeypoolGatewayApplication;
import dev.keypool.docs.Docs;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.bind.BindHandler;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.handler.NoUnboundElementsBindHandler;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.cloud.gateway.config.GatewayProperties;
import org.springframework.cloud.gateway.route.RouteDefinition;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/**
 * The two-pool {@code keypool.yaml} of docs/getting-started.md starts the gateway as
 * the guide runs it, with {@code --spring.config.additional-location}, so the example cannot
 * drift into a configuration the gateway refuses; and every other YAML block of the README and
 * docs/** binds: a gateway configuration to the {@code keypool.*} records and the route
 * definitions with no property left over, Helm values to keys of the chart's values.yaml with
 * their {@code config} bound the same way.
 */
class ReadmeConfigurationTests {

	private static final Pattern KEYPOOL_YAML = Pattern.compile("```yaml\n(# keypool\\.yaml.*?)```", Pattern.DOTALL);

	@Test
	void readmesTwoPoolConfigurationStartsWithTwoPoolsBehindTwoRoutes(@TempDir Path dir) throws IOException {
		Matcher example = KEYPOOL_YAML.matcher(Files.readString(Path.of("docs/getting-started.md")));
		assertThat(example.find()).as("a yaml block starting with '# keypool.yaml' in docs/getting-started.md").isTrue();
		Path file = Files.writeString(dir.resolve("keypool.yaml"), example.group(1));

		try (ConfigurableApplicationContext context = new SpringApplicationBuilder(KeypoolGatewayApplication.class)
			.run("--spring.config.additional-location=file:" + file, "--server.port=0", "--management.server.port=0",
					"--KEYPOOL_ADMIN_TOKEN=admin-0001", "--TEAM_A_TOKEN=team-a-0001", "--TEAM_B_TOKEN=team-b-0001",
					"--ANTHROPIC_KEY_PRIMARY=sk-ant-primary-0001", "--ANTHROPIC_KEY_FALLBACK=sk-ant-fallback-0002",
					"--ANTHROPIC_KEY_BATCH=sk-ant-batch-0003")) {
			assertThat(context.getBean(KeyPools.class).all()).extracting(KeyPool::name, (pool) -> pool.keys().size())
				.containsExactly(tuple("interactive", 2), tuple("batch", 1));
			assertThat(context.getBean(GatewayProperties.class).getRoutes()).extracting(RouteDefinition::getId)
				.containsExactly("batch", "interactive");
		}
	}


	private static final Set<String> APPLICATION_ROOTS = Set.of("keypool", "spring", "server", "management", "logging");

	static Stream<Docs.Block> yamlBlocks() {
		return Docs.files()
			.stream()
			.filter((file) -> !file.startsWith("helm")) // the chart README's blocks: ChartConfigBindingTest
			.flatMap((file) -> Docs.blocks(file).stream())
			.filter((block) -> block.info().equals("yaml"));
	}

	@ParameterizedTest(name = "{0}")
	@MethodSource("yamlBlocks")
	@SuppressWarnings("unchecked")
	void everyYamlBlockInTheDocsBinds(Docs.Block block) throws IOException {
		Map<String, Object> yaml = new Yaml().load(block.text());
		assertThat(yaml).as(block + ": a YAML mapping").isNotEmpty();
		if (yaml.keySet().stream().allMatch((key) -> APPLICATION_ROOTS.contains(key.split("\\.")[0]))) {
			bindsAsGatewayConfiguration(block, block.text());
			return;
		}
		Map<String, Object> chartValues = new Yaml().load(Files.readString(Path.of("helm/keypool-gateway/values.yaml")));
		assertThat(chartValues.keySet()).as(block + ": neither a gateway configuration (top-level keys "
				+ APPLICATION_ROOTS + ") nor Helm values").containsAll(yaml.keySet());
		if (yaml.get("config") instanceof Map<?, ?> config) {
			bindsAsGatewayConfiguration(block, new Yaml().dump(config));
		}
	}

	private static void bindsAsGatewayConfiguration(Docs.Block block, String text) throws IOException {
		List<PropertySource<?>> sources = new YamlPropertySourceLoader().load(block.toString(),
				new ByteArrayResource(text.getBytes(StandardCharsets.UTF_8)));
		Binder binder = new Binder(ConfigurationPropertySources.from(sources));
		BindHandler strict = new NoUnboundElementsBindHandler(BindHandler.DEFAULT);
		try {
			binder.bind("keypool", Bindable.of(KeypoolProperties.class), strict);
			binder.bind("spring.cloud.gateway.server.webflux.routes", Bindable.listOf(RouteDefinition.class), strict);
		}
		catch (RuntimeException ex) {
			throw new AssertionError(block + " does not bind: " + rootCause(ex).getMessage(), ex);
		}
	}

	private static Throwable rootCause(Throwable error) {
		Throwable cause = error;
		while (cause.getCause() != null) {
			cause = cause.getCause();
		}
		return cause;
	}

}
