package dev.keypool.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.yaml.snakeyaml.constructor.DuplicateKeyException;

import dev.keypool.KeypoolGatewayApplication;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Every bad configuration the contract lists (docs/contract.md, "Configuration") stops the
 * real application at startup with a message naming the property, and never the secret.
 */
@ExtendWith(OutputCaptureExtension.class)
class KeypoolConfigurationValidationTests {

	private static final String SECRET = "sk-ant-do-not-print-this-0001";

	@ParameterizedTest(name = "{0}")
	@CsvSource(delimiter = '|', value = {
			"pool with no keys | keypool.pools.broken.provider=anthropic | keypool.pools.broken.keys: a pool needs at least one key",
			"blank secret | keypool.pools.main.keys[1].secret= | keypool.pools.main.keys[1].secret: must not be blank",
			"duplicate key ids | keypool.pools.main.keys[1].id=primary | keypool.pools.main.keys[1].id: duplicate key id 'primary'",
			"filter naming an unknown pool | spring.cloud.gateway.server.webflux.routes[0].filters[0]=KeyFailover=nope | spring.cloud.gateway.server.webflux.routes[0].filters[0]: KeyFailover names unknown pool 'nope'",
			"status in both lists | keypool.pools.main.disable-on=401,429 | keypool.pools.main.disable-on: status 429 is also in cooldown-on",
			"negative default cooldown | keypool.pools.main.default-cooldown=-5s | keypool.pools.main.default-cooldown: must not be negative",
			"negative max cooldown | keypool.pools.main.max-cooldown=-1m | keypool.pools.main.max-cooldown: must not be negative",
			"unknown provider | keypool.pools.main.provider=openai-ish | keypool.pools.main.provider: unknown provider 'openai-ish'",
			"status that is not an error | keypool.pools.main.cooldown-on=200 | keypool.pools.main.cooldown-on: 200 is not an HTTP error status",
			"blank client token | keypool.clients[0].token= | keypool.clients[0].token: must not be blank",
			"zero body limit | keypool.max-request-body=0 | keypool.max-request-body: must be a positive size",
			"unset variable as a key | keypool.pools.main.keys[0].secret=${ANTHROPIC_KEY_1} | keypool.pools.main.keys[0].secret: placeholder ${ANTHROPIC_KEY_1} did not resolve; set the environment variable or property ANTHROPIC_KEY_1",
			"unset variable as a client token | keypool.clients[0].token=${TEAM_A_TOKEN} | keypool.clients[0].token: placeholder ${TEAM_A_TOKEN} did not resolve",
			"unset variable as the admin token | keypool.admin.token=${KEYPOOL_ADMIN_TOKEN} | keypool.admin.token: placeholder ${KEYPOOL_ADMIN_TOKEN} did not resolve",
			"placeholder inside a longer value | keypool.pools.main.keys[1].secret=sk-${SUFFIX} | keypool.pools.main.keys[1].secret: placeholder ${SUFFIX} did not resolve",
			"clients written as a map | keypool.clients.team-b=some-token | keypool.clients: must be a list of entries with id and token",
			"zero cooldown | keypool.pools.main.default-cooldown=0 | keypool.pools.main.default-cooldown: must be positive",
			"zero min cooldown | keypool.pools.main.min-cooldown=0s | keypool.pools.main.min-cooldown: must be positive",
			"max cooldown below the default | keypool.pools.main.max-cooldown=30s | keypool.pools.main.max-cooldown: 30s is below default-cooldown (60s)",
			"min cooldown above the default | keypool.pools.main.min-cooldown=2m | keypool.pools.main.min-cooldown: 120s is above default-cooldown (60s)",
			"buffer budget below the body limit | keypool.max-buffered-bytes=1MB | keypool.max-buffered-bytes: must be at least keypool.max-request-body",
			"zero stream idle timeout | keypool.stream-idle-timeout=0 | keypool.stream-idle-timeout: must be a positive duration",
			"zero request body timeout | keypool.request-body-timeout=0 | keypool.request-body-timeout: must be a positive duration",
			"negative request body timeout | keypool.request-body-timeout=-5s | keypool.request-body-timeout: must be a positive duration",
			"negative reload interval | keypool.reload.interval=-1s | keypool.reload.interval: must be a duration such as 10s, or 0 for off",
			"unknown strategy | keypool.pools.main.strategy=fastest | keypool.pools.main.strategy: unknown strategy 'fastest'",
			"max wait over a minute | keypool.pools.main.max-wait=90s | keypool.pools.main.max-wait: must be at most 60s",
			"negative max wait | keypool.pools.main.max-wait=-1s | keypool.pools.main.max-wait: must not be negative",
			"negative max waiting | keypool.pools.main.max-waiting=-1 | keypool.pools.main.max-waiting: must not be negative",
			"negative token threshold | keypool.pools.main.min-remaining-tokens=-5 | keypool.pools.main.min-remaining-tokens: must not be negative",
			"blank session header | keypool.pools.main.session-header= | keypool.pools.main.session-header: must not be blank",
			"blank group | keypool.pools.main.keys[0].group= | keypool.pools.main.keys[0].group: must not be blank",
			"zero requests per minute | keypool.clients[0].limits.requests-per-minute=0 | keypool.clients[0].limits.requests-per-minute: must be positive",
			"negative tokens per day | keypool.clients[0].limits.tokens-per-day=-1 | keypool.clients[0].limits.tokens-per-day: must be positive",
			"reserved client id | keypool.clients[0].id=byok | keypool.clients[0].id: 'byok' is reserved",
			"client id with a brace | keypool.clients[0].id=team}a | keypool.clients[0].id: must not contain '{' or '}'",
			"vertex key without a service account | keypool.pools.main.provider=vertex | keypool.pools.main.keys[0].credentials: must hold the service account's JSON key",
			"misspelt byok | keypool.pools.main.byk=false | keypool.pools.main.byk: unknown property (did you mean keypool.pools.main.byok?)",
			"a property pools do not have | keypool.pools.main.base-url=https://example.com | keypool.pools.main.base-url: unknown property",
			"misspelt key secret | keypool.pools.main.keys[0].secrte=sk-x | keypool.pools.main.keys[0].secrte: unknown property (did you mean keypool.pools.main.keys[0].secret?)",
			"misspelt top-level property | keypool.max-request-bdy=1MB | keypool.max-request-bdy: unknown property (did you mean keypool.max-request-body?)",
			"misspelt filter name | spring.cloud.gateway.server.webflux.routes[0].filters[0]=KeyFailovr=main | spring.cloud.gateway.server.webflux.routes[0].filters[0]: route 'main' names unknown filter 'KeyFailovr' (did you mean KeyFailover?)",
			"misspelt predicate name | spring.cloud.gateway.server.webflux.routes[0].predicates[0]=Pth=/v1/** | spring.cloud.gateway.server.webflux.routes[0].predicates[0]: route 'main' names unknown predicate 'Pth' (did you mean Path?)" })
	void badConfigurationStopsStartupNamingTheProperty(String description, String property, String expected) {
		Map<String, Object> properties = validConfiguration();
		int eq = property.indexOf('=');
		properties.put(property.substring(0, eq), property.substring(eq + 1));

		assertThatThrownBy(() -> start(properties)).satisfies((ex) -> {
			InvalidKeypoolConfigurationException invalid = findCause(ex);
			assertThat(invalid.getProblems()).anySatisfy((problem) -> assertThat(problem).startsWith(expected));
			assertThat(invalid.getMessage()).doesNotContain(SECRET).doesNotContain("\n");
		});
	}

	@ParameterizedTest(name = "{0}")
	@CsvSource(delimiter = '|', value = {
			"keypool.pool instead of keypool.pools | keypool.pool.main.keys[0].id | keypool.pool.main.keys[0].id is not a keypool property: did you mean keypool.pools?",
			"keypol instead of keypool | keypol.pools.main.keys[0].id | keypol.pools.main.keys[0].id is not a keypool property: did you mean keypool.pools?" })
	void routeNamingAPoolWhileNoneIsConfiguredPointsAtTheMisspeltProperty(String description, String misspelt,
			String hint) {
		Map<String, Object> properties = withoutPools(validConfiguration());
		properties.put(misspelt, "primary");

		assertThatThrownBy(() -> start(properties)).satisfies((ex) -> assertThat(findCause(ex).getProblems())
			.contains("spring.cloud.gateway.server.webflux.routes[0].filters[0]: KeyFailover names unknown pool "
					+ "'main' (no pools are configured; " + hint + ")"));
	}

	@Test
	void routeNamingAPoolWhileNoPoolPropertyIsSetAsksWhetherTheFileIsLoaded() {
		Map<String, Object> properties = withoutPools(validConfiguration());

		assertThatThrownBy(() -> start(properties)).satisfies((ex) -> assertThat(findCause(ex).getProblems())
			.singleElement()
			.asString()
			.endsWith("KeyFailover names unknown pool 'main' (no pools are configured: no keypool.pools.* property "
					+ "is set; is your configuration file loaded?)"));
	}

	@Test
	void duplicateYamlKeyStopsStartupWithOneLine(@TempDir Path dir, CapturedOutput output) throws IOException {
		Path yaml = dir.resolve("application.yaml");
		Files.writeString(yaml, """
				keypool:
				  pools:
				    main:
				      keys:
				        - { id: primary, secret: sk-ant-one }
				    main:
				      keys:
				        - { id: fallback, secret: sk-ant-two }
				""");
		Map<String, Object> properties = new LinkedHashMap<>();
		properties.put("spring.config.additional-location", "file:" + yaml);

		assertThatThrownBy(() -> start(properties)).isInstanceOf(DuplicateKeyException.class);
		assertThat(output).contains("Duplicate key 'main' in a YAML configuration file: line 6, column 5 repeats "
				+ "the key of line 3, column 5 in the same map")
			.doesNotContain("while constructing a mapping")
			.doesNotContain("sk-ant-");
	}

	@Test
	void eachStartupErrorNamesWhereItsPropertyIsSet(@TempDir Path dir, CapturedOutput output) throws IOException {
		Path yaml = dir.resolve("keypool-extra.yaml");
		Files.writeString(yaml, """
				keypool:
				  pools:
				    main:
				      byk: false
				""");
		Map<String, Object> properties = validConfiguration();
		properties.put("spring.config.additional-location", "file:" + yaml);
		properties.put("keypool.pools.main.keys[1].secret", "");

		assertThatThrownBy(() -> start(properties)).isNotNull();

		assertThat(output.getOut())
			.contains("keypool.pools.main.byk: unknown property (did you mean keypool.pools.main.byok?) [set in ")
			.containsPattern("byok\\?\\) \\[set in [^\\]]*keypool-extra\\.yaml\\] line 4]")
			.contains("keypool.pools.main.keys[1].secret: must not be blank [set in a command-line argument]")
			.doesNotContain("in application.yaml")
			.doesNotContain(SECRET);
	}

	@Test
	void aRouteWithAnUnknownFilterNameStopsStartupWithOneLineAndNoTrace(CapturedOutput output) {
		Map<String, Object> properties = validConfiguration();
		properties.put("spring.cloud.gateway.server.webflux.routes[0].filters[0]", "KeyFailovr=main");

		assertThatThrownBy(() -> start(properties)).isNotNull();

		assertThat(output.getOut()).contains("spring.cloud.gateway.server.webflux.routes[0].filters[0]: route 'main' "
				+ "names unknown filter 'KeyFailovr' (did you mean KeyFailover?)")
			.doesNotContain("Unable to find GatewayFilterFactory");
	}

	@Test
	void aPoolNameWithABraceStopsStartupBecauseItIsTheHashTagOfItsRedisKeys(CapturedOutput output) {
		Map<String, Object> properties = validConfiguration();
		properties.put("keypool.pools[te}am].keys[0].id", "k");
		properties.put("keypool.pools[te}am].keys[0].secret", "sk-ant-brace-0003");

		assertThatThrownBy(() -> start(properties)).isNotNull();

		assertThat(output.getOut()).contains("keypool.pools.te}am: must not contain '{' or '}'");
	}

	@Test
	void aYamlFileWithMoreAliasesThanTheLimitStopsStartupWithOneLine(@TempDir Path dir, CapturedOutput output)
			throws IOException {
		Path yaml = dir.resolve("aliases.yaml");
		Files.writeString(yaml, "keypool:\n  demo:\n    one: &one [" + SECRET + "]\n    many: ["
				+ String.join(", ", java.util.Collections.nCopies(51, "*one")) + "]\n");
		Map<String, Object> properties = validConfiguration();
		properties.put("spring.config.additional-location", "file:" + yaml);

		assertThatThrownBy(() -> start(properties)).isInstanceOf(UnsafeYamlException.class);

		assertThat(output.getOut()).containsPattern("Configuration file [^\\n]*aliases\\.yaml\\] refused: more than 50 "
				+ "aliases to lists or maps")
			.doesNotContain(SECRET);
	}

	@Test
	void aYamlFileWhoseFewAliasesExpandExponentiallyStopsStartupWithOneLine(@TempDir Path dir,
			CapturedOutput output) throws IOException {
		// 16 levels of three aliases each: 48 aliases, under the alias limit, but 3^16 values
		StringBuilder bomb = new StringBuilder("keypool:\n  demo:\n    l0: &l0 [" + SECRET + "]\n");
		for (int level = 1; level <= 16; level++) {
			String previous = "*l" + (level - 1);
			bomb.append("    l").append(level).append(": &l").append(level).append(" [").append(previous)
				.append(", ").append(previous).append(", ").append(previous).append("]\n");
		}
		Path yaml = dir.resolve("deep.yaml");
		Files.writeString(yaml, bomb.toString());
		Map<String, Object> properties = validConfiguration();
		properties.put("spring.config.additional-location", "file:" + yaml);

		assertThatThrownBy(() -> start(properties)).isInstanceOf(UnsafeYamlException.class);

		assertThat(output.getOut()).containsPattern("Configuration file [^\\n]*deep\\.yaml\\] refused: its aliases "
				+ "expand to more than 100000 values")
			.doesNotContain(SECRET);
	}

	@Test
	void aYamlFileOverTheSizeLimitStopsStartupUnread(@TempDir Path dir, CapturedOutput output) throws IOException {
		Path yaml = dir.resolve("large.yaml");
		Files.writeString(yaml, "keypool:\n  admin:\n    token: " + SECRET + "\n" + "#".repeat(1024 * 1024) + "\n");
		Map<String, Object> properties = validConfiguration();
		properties.put("spring.config.additional-location", "file:" + yaml);

		assertThatThrownBy(() -> start(properties)).isInstanceOf(UnsafeYamlException.class);

		assertThat(output.getOut()).containsPattern("large\\.yaml\\] refused: it is \\d+ bytes, over the limit of "
				+ "1048576").doesNotContain(SECRET);
	}

	@Test
	void aBareNumberIsReadAsSeconds() {
		Map<String, Object> properties = validConfiguration();
		properties.put("keypool.pools.main.default-cooldown", "90");
		properties.put("keypool.pools.main.max-cooldown", "600");
		properties.put("keypool.stream-idle-timeout", "30");
		properties.put("keypool.request-body-timeout", "45");

		try (ConfigurableApplicationContext context = start(properties)) {
			KeypoolProperties bound = context.getBean(KeypoolProperties.class);
			assertThat(bound.pools().get("main").defaultCooldown()).isEqualTo(Duration.ofSeconds(90));
			assertThat(bound.pools().get("main").maxCooldown()).isEqualTo(Duration.ofMinutes(10));
			assertThat(bound.streamIdleTimeout()).isEqualTo(Duration.ofSeconds(30));
			assertThat(bound.requestBodyTimeout()).isEqualTo(Duration.ofSeconds(45));
		}
	}

	@Test
	void likelyMistakesThatStillWorkAreWarnedAboutAtStartup(CapturedOutput output) {
		Map<String, Object> properties = validConfiguration();
		properties.put("spring.cloud.gateway.server.webflux.routes[0].uri", "http://api.example.invalid");
		properties.put("keypool.pools.spare.keys[0].id", "only");
		properties.put("keypool.pools.spare.keys[0].secret", "sk-ant-spare-0003");
		properties.put("spring.cloud.gateway.routes[0].id", "old-style");

		try (ConfigurableApplicationContext context = start(properties)) {
			assertThat(output.getOut()).contains(
					"spring.cloud.gateway.server.webflux.routes[0].uri: plain http:// upstream api.example.invalid for pool 'main': its keys travel in clear text")
				.contains("keypool.pools.spare: no route uses this pool")
				.contains("Routes under spring.cloud.gateway.routes are ignored")
				.doesNotContain(SECRET);
		}
	}

	@Test
	void validConfigurationStarts() {
		try (ConfigurableApplicationContext context = start(validConfiguration())) {
			assertThat(context.getBean(KeypoolProperties.class).pools()).containsKey("main");
		}
	}

	@Test
	void failureAnalysisListsEachPropertyOnItsOwnLine() {
		InvalidKeypoolConfigurationException ex = new InvalidKeypoolConfigurationException(
				java.util.List.of("keypool.pools.a.keys: a pool needs at least one key",
						"keypool.pools.b.keys[0].secret: must not be blank"));

		var analysis = new InvalidKeypoolConfigurationFailureAnalyzer().analyze(ex);

		assertThat(analysis.getDescription()).contains("\n    keypool.pools.a.keys: a pool needs at least one key")
			.contains("\n    keypool.pools.b.keys[0].secret: must not be blank");
	}

	@ParameterizedTest(name = "{0}")
	@CsvSource(delimiter = '|', value = {
			"no region | keypool.pools.main.keys[0].region= | keypool.pools.main.keys[0].region: must name the AWS region the key signs for",
			"blank secret access key | keypool.pools.main.keys[0].secret-access-key= | keypool.pools.main.keys[0].secret-access-key: must not be blank",
			"unset variable as the secret access key | keypool.pools.main.keys[0].secret-access-key=${AWS_SECRET_A} | keypool.pools.main.keys[0].secret-access-key: placeholder ${AWS_SECRET_A} did not resolve",
			"an API key and AWS credentials | keypool.pools.main.keys[0].secret=bedrock-api-key-0001 | keypool.pools.main.keys[0].secret: a Bedrock key is either a Bedrock API key (secret) or AWS credentials",
			"neither | keypool.pools.main.keys[0].access-key-id= | keypool.pools.main.keys[0].access-key-id: must not be blank",
			"a region other than the endpoint's | spring.cloud.gateway.server.webflux.routes[0].uri=https://bedrock-runtime.eu-west-1.amazonaws.com | keypool.pools.main.keys[0].region: 'us-east-1' is not the region of the route's endpoint ('eu-west-1'" })
	void badBedrockKeyStopsStartupNamingTheProperty(String description, String property, String expected) {
		Map<String, Object> properties = validConfiguration();
		properties.put("keypool.pools.main.provider", "bedrock");
		properties.remove("keypool.pools.main.keys[0].secret");
		properties.put("keypool.pools.main.keys[0].access-key-id", "AKIAVALIDATION000001");
		properties.put("keypool.pools.main.keys[0].secret-access-key", SECRET);
		properties.put("keypool.pools.main.keys[0].region", "us-east-1");
		int eq = property.indexOf('=');
		properties.put(property.substring(0, eq), property.substring(eq + 1));

		assertThatThrownBy(() -> start(properties)).satisfies((ex) -> {
			InvalidKeypoolConfigurationException invalid = findCause(ex);
			assertThat(invalid.getProblems()).anySatisfy((problem) -> assertThat(problem).startsWith(expected));
			assertThat(invalid.getMessage()).doesNotContain(SECRET).doesNotContain("\n");
		});
	}

	private static Map<String, Object> validConfiguration() {
		Map<String, Object> properties = new LinkedHashMap<>();
		properties.put("server.port", "0");
		properties.put("management.server.port", "0");
		properties.put("keypool.clients[0].id", "team-a");
		properties.put("keypool.clients[0].token", "client-token-0001");
		properties.put("keypool.pools.main.keys[0].id", "primary");
		properties.put("keypool.pools.main.keys[0].secret", SECRET);
		properties.put("keypool.pools.main.keys[1].id", "fallback");
		properties.put("keypool.pools.main.keys[1].secret", "sk-ant-fallback-0002");
		properties.put("spring.cloud.gateway.server.webflux.routes[0].id", "main");
		properties.put("spring.cloud.gateway.server.webflux.routes[0].uri", "http://127.0.0.1:9");
		properties.put("spring.cloud.gateway.server.webflux.routes[0].predicates[0]", "Path=/v1/**");
		properties.put("spring.cloud.gateway.server.webflux.routes[0].filters[0]", "KeyFailover=main");
		return properties;
	}

	private static Map<String, Object> withoutPools(Map<String, Object> properties) {
		properties.keySet().removeIf((name) -> name.startsWith("keypool.pools."));
		return properties;
	}

	private static ConfigurableApplicationContext start(Map<String, Object> properties) {
		// As command-line arguments: they outrank application.yaml, as an operator's settings do.
		String[] args = properties.entrySet()
			.stream()
			.map((entry) -> "--" + entry.getKey() + "=" + entry.getValue())
			.toArray(String[]::new);
		SpringApplication application = new SpringApplicationBuilder(KeypoolGatewayApplication.class)
			.web(WebApplicationType.REACTIVE)
			.build();
		return application.run(args);
	}

	private static InvalidKeypoolConfigurationException findCause(Throwable ex) {
		for (Throwable t = ex; t != null; t = t.getCause()) {
			if (t instanceof InvalidKeypoolConfigurationException invalid) {
				return invalid;
			}
		}
		throw new AssertionError("startup failed for another reason", ex);
	}

}
