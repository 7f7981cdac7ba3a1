package dev.keypool.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.keypool.KeypoolGatewayApplication;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.cloud.gateway.config.GatewayProperties;
import org.springframework.cloud.gateway.route.RouteDefinition;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/**
 * The two-pool {@code keypool.yaml} of docs/getting-started.md starts the gateway as
 * the README runs it, with {@code --spring.config.additional-location}, so the example cannot
 * drift into a configuration the gateway refuses.
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

}
