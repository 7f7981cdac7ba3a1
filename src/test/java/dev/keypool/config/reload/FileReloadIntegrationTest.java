package dev.keypool.config.reload;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.keypool.config.reload.ReloadingGateway.Response;
import dev.keypool.config.reload.ReloadingGateway.Traffic;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyStatus;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Keys and client tokens read from a file given to {@code spring.config.additional-location}
 * change while requests keep flowing: through the file check that runs every
 * {@code keypool.reload.interval} and through {@code POST /actuator/refresh}. No request
 * fails, and none sent after the switch uses a key that is gone.
 */
@ExtendWith(OutputCaptureExtension.class)
class FileReloadIntegrationTest {

	static final String K0 = "sk-reload-k0-old-aaaaaaaa";

	static final String K0_NEW = "sk-reload-k0-new-bbbbbbbb";

	static final String K1 = "sk-reload-k1-cccccccc";

	static final String K2 = "sk-reload-k2-dddddddd";

	static final String TEAM_A = "client-token-team-a-reload-1";

	static final String TEAM_A_NEW = "client-token-team-a-reload-2";

	static final String TEAM_B = "client-token-team-b-reload-1";

	static final KeyCheckingUpstream upstream = new KeyCheckingUpstream();

	static Path directory;

	static Path file;

	static ReloadingGateway gateway;

	@BeforeAll
	static void start() throws IOException {
		directory = Files.createTempDirectory("keypool-reload");
		file = directory.resolve("keypool.yaml");
		ReloadingGateway.write(file, config(ReloadingGateway.ADMIN_TOKEN, TEAM_A, keys("k0", K0, "k1", K1)));
		gateway = ReloadingGateway.start(null,
				Map.of("spring.config.additional-location", "file:" + file.toAbsolutePath()));
	}

	@AfterAll
	static void stop() throws IOException {
		if (gateway != null) {
			gateway.close();
		}
		upstream.close();
		try (var files = Files.walk(directory)) {
			files.sorted(java.util.Comparator.reverseOrder()).forEach((path) -> path.toFile().delete());
		}
	}

	@BeforeEach
	void startingConfiguration() {
		ReloadingGateway.write(file, config(ReloadingGateway.ADMIN_TOKEN, TEAM_A, keys("k0", K0, "k1", K1)));
		gateway.checkFiles();
		KeyPool pool = gateway.pool();
		pool.keys().forEach(pool::reset);
		upstream.reset();
	}

	@Test
	void aKeyWithANewSecretIsUsedWithItFromTheNextRequestAndStartsAvailable() {
		upstream.revoke(K0);
		assertThat(gateway.post(TEAM_A).servedBy()).isEqualTo("k1");
		assertThat(gateway.status("k0")).isEqualTo(KeyStatus.DISABLED);
		long appliedBefore = gateway.reloader().applied();

		List<Response> responses;
		long switched;
		try (Traffic traffic = new Traffic(gateway, TEAM_B, 3)) {
			traffic.awaitMore(10);
			ReloadingGateway.write(file, config(ReloadingGateway.ADMIN_TOKEN, TEAM_A, keys("k0", K0_NEW, "k1", K1)));
			assertThat(gateway.checkFiles()).as("the file change is noticed").isTrue();
			switched = traffic.sentSoFar();
			traffic.awaitMore(20);
			responses = traffic.stop();
		}

		assertThat(responses).extracting(Response::status).containsOnly(200);
		assertThat(gateway.status("k0")).isEqualTo(KeyStatus.AVAILABLE);
		assertThat(upstream.secretsAfter(switched)).contains(K0_NEW).doesNotContain(K0);
		assertThat(gateway.reloader().applied()).isEqualTo(appliedBefore + 1);
	}

	@Test
	void anAddedKeyIsAvailableAndARemovedOneIsNeverSentAgainAfterARefresh() {
		List<Response> responses;
		long switched;
		try (Traffic traffic = new Traffic(gateway, TEAM_B, 3)) {
			traffic.awaitMore(10);
			ReloadingGateway.write(file, config(ReloadingGateway.ADMIN_TOKEN, TEAM_A, keys("k1", K1, "k2", K2)));
			assertThat(gateway.management("POST", "/actuator/refresh", ReloadingGateway.ADMIN_TOKEN).status())
				.isEqualTo(200);
			switched = traffic.sentSoFar();
			traffic.awaitMore(20);
			responses = traffic.stop();
		}

		assertThat(responses).extracting(Response::status).containsOnly(200);
		assertThat(upstream.secretsAfter(switched)).isNotEmpty().doesNotContain(K0);
		assertThat(gateway.pool().keys()).extracting("id").containsExactly("k1", "k2");
		assertThat(gateway.status("k2")).isEqualTo(KeyStatus.AVAILABLE);
		Response keypools = gateway.management("GET", "/actuator/keypools/test", null);
		assertThat(keypools.body()).contains("\"id\":\"k2\"").doesNotContain("\"id\":\"k0\"");
	}

	@Test
	void aRemovedKeysMetricSeriesAreGoneFromTheScrapeAndAnAddedKeyHasAll() {
		assertThat(gateway.post(TEAM_A).status()).isEqualTo(200);
		assertThat(gateway.scrape()).contains("key=\"k0\"");

		ReloadingGateway.write(file, config(ReloadingGateway.ADMIN_TOKEN, TEAM_A, keys("k1", K1, "k2", K2)));
		assertThat(gateway.checkFiles()).isTrue();

		String scrape = gateway.scrape();
		assertThat(scrape).doesNotContain("key=\"k0\"");
		assertThat(scrape).containsPattern("keypool_key_state\\{key=\"k2\",pool=\"test\",state=\"available\"} 1\\.0")
			.containsPattern("keypool_upstream_attempts_total\\{key=\"k2\",outcome=\"success\",pool=\"test\"} 0\\.0")
			.containsPattern("keypool_config_reloads_total\\{outcome=\"applied\"} [1-9]");
	}

	@Test
	void aChangedClientTokenSwitchesAtOnceWhileOtherClientsKeepBeingServed() {
		assertThat(gateway.post(TEAM_A_NEW).status()).as("not a client yet").isEqualTo(401);
		List<Response> responses;
		try (Traffic traffic = new Traffic(gateway, TEAM_B, 2)) {
			traffic.awaitMore(10);
			ReloadingGateway.write(file,
					config(ReloadingGateway.ADMIN_TOKEN, TEAM_A_NEW, keys("k0", K0, "k1", K1)));
			assertThat(gateway.checkFiles()).isTrue();

			assertThat(gateway.post(TEAM_A).status()).as("the old token is refused").isEqualTo(401);
			assertThat(gateway.post(TEAM_A_NEW).status()).as("the new token is served").isEqualTo(200);
			traffic.awaitMore(10);
			responses = traffic.stop();
		}
		assertThat(responses).extracting(Response::status).containsOnly(200);
		assertThat(upstream.secrets()).as("a client token never goes upstream")
			.doesNotContain(TEAM_A, TEAM_A_NEW, TEAM_B);
	}

	@Test
	void theRefreshEndpointNeedsTheAdminTokenAndANewAdminTokenAppliesAtOnce() {
		assertThat(gateway.management("POST", "/actuator/refresh", null).status()).isEqualTo(401);
		assertThat(gateway.management("POST", "/actuator/refresh", "wrong-token").status()).isEqualTo(401);

		ReloadingGateway.write(file, config("admin-token-reload-0002", TEAM_A, keys("k0", K0, "k1", K1)));
		assertThat(gateway.checkFiles()).isTrue();

		assertThat(gateway.management("DELETE", "/actuator/keypools/test/k0", ReloadingGateway.ADMIN_TOKEN).status())
			.isEqualTo(401);
		assertThat(gateway.management("DELETE", "/actuator/keypools/test/k0", "admin-token-reload-0002").status())
			.isEqualTo(204);
		assertThat(gateway.management("POST", "/actuator/refresh", "admin-token-reload-0002").status())
			.isEqualTo(200);
	}

	@ParameterizedTest(name = "{0}")
	@CsvSource(delimiter = '|', value = {
			"blank secret | k0 | '' | k1 | " + K1 + " | keypool.pools.test.keys[0].secret",
			"duplicate id | k0 | " + K0 + " | k0 | " + K1 + " | keypool.pools.test.keys[1].id",
			"unresolved placeholder | k0 | ${KEYPOOL_RELOAD_NOT_SET} | k1 | " + K1
					+ " | keypool.pools.test.keys[0].secret" })
	void aConfigurationWithAProblemIsRefusedWholeAndTheRunningOneKeepsServing(String problem, String id0,
			String secret0, String id1, String secret1, String property, CapturedOutput output) {
		long refusedBefore = gateway.reloader().refused();

		ReloadingGateway.write(file,
				config(ReloadingGateway.ADMIN_TOKEN, TEAM_A_NEW, keys(id0, secret0, id1, secret1, "k2", K2)));
		assertThat(gateway.checkFiles()).isTrue();

		assertThat(gateway.reloader().refused()).isEqualTo(refusedBefore + 1);
		assertThat(output.getOut()).contains("ERROR").contains("Configuration reload refused: " + property)
			.doesNotContain(K1)
			.doesNotContain(K2)
			.doesNotContain(TEAM_A_NEW);
		assertThat(gateway.pool().keys()).as("nothing of it applied").extracting("id").containsExactly("k0", "k1");
		Response served = gateway.post(TEAM_A);
		assertThat(served.status()).isEqualTo(200);
		assertThat(served.servedBy()).isEqualTo("k0");
		assertThat(upstream.secrets()).containsExactly(K0);
		assertThat(gateway.post(TEAM_A_NEW).status()).as("the refused file's token is not in force").isEqualTo(401);
		assertThat(gateway.scrape()).containsPattern("keypool_config_reloads_total\\{outcome=\"refused\"} [1-9]");
	}

	@Test
	void aPoolAddedWithItsRouteServesAfterTheReload() {
		assertThat(gateway.postTo("/batch/v1/messages", TEAM_A).status()).as("no such route yet").isEqualTo(404);

		ReloadingGateway.write(file, config(ReloadingGateway.ADMIN_TOKEN, TEAM_A, keys("k0", K0, "k1", K1), """
				    batch:
				      byok: false
				      keys:
				        - id: b0
				          secret: "%s"
				""".formatted(K2), """
				  - id: batch
				    uri: %s
				    predicates: [Path=/batch/v1/**]
				    filters: [StripPrefix=1, KeyFailover=batch]
				""".formatted(upstream.url())));
		assertThat(gateway.checkFiles()).isTrue();

		Response batch = gateway.postTo("/batch/v1/messages", TEAM_A);
		assertThat(batch.status()).isEqualTo(200);
		assertThat(batch.servedBy()).isEqualTo("b0");
		assertThat(upstream.secrets()).containsExactly(K2);
	}

	@Test
	void aFileSpringCannotParseIsRefusedWithoutQuotingIt(CapturedOutput output) {
		long refusedBefore = gateway.reloader().refused();

		ReloadingGateway.write(file, "keypool:\n  admin:\n    token: [" + K2 + "\n  pools: {{{\n");
		assertThat(gateway.checkFiles()).isTrue();

		assertThat(gateway.reloader().refused()).isEqualTo(refusedBefore + 1);
		assertThat(output.getOut()).contains("Configuration reload refused: the configuration could not be read")
			.doesNotContain(K2);
		assertThat(gateway.post(TEAM_A).servedBy()).isEqualTo("k0");
	}

	@Test
	void aFileCaughtHalfWrittenIsNeverAppliedAndTheWholeOneIsOnceItSettled(CapturedOutput output) {
		long refusedBefore = gateway.reloader().refused();
		long appliedBefore = gateway.reloader().applied();
		String whole = config(ReloadingGateway.ADMIN_TOKEN, TEAM_A, keys("k0", K0_NEW, "k1", K1));
		String firstLines = whole.substring(0, whole.indexOf("spring.cloud"));

		ReloadingGateway.write(file, firstLines);
		assertThat(gateway.checkOnce()).as("seen once: perhaps still being written").isFalse();
		ReloadingGateway.write(file, whole);
		assertThat(gateway.checkOnce()).as("changed again since").isFalse();
		assertThat(gateway.checkOnce()).as("the same twice").isTrue();

		assertThat(gateway.reloader().applied()).isEqualTo(appliedBefore + 1);
		assertThat(gateway.reloader().refused()).isEqualTo(refusedBefore);
		assertThat(gateway.post(TEAM_A).servedBy()).isEqualTo("k0");
		assertThat(upstream.secrets()).containsExactly(K0_NEW);
	}

	@Test
	void aFileCutShortThatRemovesEveryRouteIsRefusedAndTheRunningOneKeepsServing(CapturedOutput output) {
		long refusedBefore = gateway.reloader().refused();
		String whole = config(ReloadingGateway.ADMIN_TOKEN, TEAM_A, keys("k0", K0_NEW, "k1", K1));

		ReloadingGateway.write(file, whole.substring(0, whole.indexOf("spring.cloud")));
		assertThat(gateway.checkFiles()).isTrue();

		assertThat(gateway.reloader().refused()).isEqualTo(refusedBefore + 1);
		assertThat(output.getOut()).contains("ERROR")
			.contains("Configuration reload refused: spring.cloud.gateway.server.webflux.routes: "
					+ "the reload would remove every route")
			.doesNotContain(K0_NEW);
		Response served = gateway.post(TEAM_A);
		assertThat(served.status()).isEqualTo(200);
		assertThat(served.servedBy()).isEqualTo("k0");
		assertThat(upstream.secrets()).containsExactly(K0);
		assertThat(gateway.scrape()).containsPattern("keypool_config_reloads_total\\{outcome=\"refused\"} [1-9]");
	}

	@Test
	void aRefreshThatWouldLeaveAPoolInUseWithoutItsRouteIsRefused(CapturedOutput output) {
		String batchPool = """
				    batch:
				      byok: false
				      keys:
				        - id: b0
				          secret: "%s"
				""".formatted(K2);
		ReloadingGateway.write(file, config(ReloadingGateway.ADMIN_TOKEN, TEAM_A, keys("k0", K0, "k1", K1), batchPool,
				"""
						  - id: batch
						    uri: %s
						    predicates: [Path=/batch/v1/**]
						    filters: [StripPrefix=1, KeyFailover=batch]
						""".formatted(upstream.url())));
		assertThat(gateway.checkFiles()).isTrue();
		assertThat(gateway.postTo("/batch/v1/messages", TEAM_A).status()).isEqualTo(200);
		long refusedBefore = gateway.reloader().refused();

		ReloadingGateway.write(file,
				config(ReloadingGateway.ADMIN_TOKEN, TEAM_A, keys("k0", K0, "k1", K1), batchPool, ""));
		assertThat(gateway.management("POST", "/actuator/refresh", ReloadingGateway.ADMIN_TOKEN).status())
			.as("at once, as the operator asked").isEqualTo(200);

		assertThat(gateway.reloader().refused()).isEqualTo(refusedBefore + 1);
		assertThat(output.getOut()).contains("Configuration reload refused: keypool.pools.batch: the reload would "
				+ "leave this pool, in use by route 'batch', without a route");
		assertThat(gateway.postTo("/batch/v1/messages", TEAM_A).servedBy()).as("the route still serves")
			.isEqualTo("b0");
	}

	@Test
	void aMisspeltPropertyIsRefusedNamingTheOneMeantAndByokStaysClosed(CapturedOutput output) {
		long refusedBefore = gateway.reloader().refused();

		ReloadingGateway.write(file, config(ReloadingGateway.ADMIN_TOKEN, TEAM_A, keys("k0", K0_NEW, "k1", K1))
			.replace("byok: false", "byk: false"));
		assertThat(gateway.checkFiles()).isTrue();

		assertThat(gateway.reloader().refused()).isEqualTo(refusedBefore + 1);
		assertThat(output.getOut()).contains("Configuration reload refused: keypool.pools.test.byk: unknown property "
				+ "(did you mean keypool.pools.test.byok?) [set in ").contains("keypool.yaml] line ");
		assertThat(gateway.post("sk-ant-callers-own-key-0001").status()).as("BYOK stays closed").isEqualTo(401);
		assertThat(gateway.post(TEAM_A).servedBy()).isEqualTo("k0");
		assertThat(upstream.secrets()).containsExactly(K0);
	}

	@Test
	void anAliasBombIsRefusedWithOneLineAndNeverExpanded(CapturedOutput output) {
		long refusedBefore = gateway.reloader().refused();
		StringBuilder bomb = new StringBuilder("keypool:\n  demo:\n    l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
		for (int level = 1; level <= 9; level++) {
			bomb.append("    l").append(level).append(": &l").append(level).append(" [");
			bomb.append(String.join(", ", java.util.Collections.nCopies(9, "*l" + (level - 1)))).append("]\n");
		}

		ReloadingGateway.write(file, bomb.toString());
		assertThat(gateway.checkFiles()).isTrue();

		assertThat(gateway.reloader().refused()).isEqualTo(refusedBefore + 1);
		assertThat(output.getOut()).containsPattern("ERROR .*Configuration reload refused: Configuration file "
				+ "[^\\n]*keypool\\.yaml\\] refused: more than 50 aliases to lists or maps");
		assertThat(gateway.post(TEAM_A).servedBy()).isEqualTo("k0");
	}

	static String keys(String... idsAndSecrets) {
		StringBuilder yaml = new StringBuilder();
		for (int i = 0; i < idsAndSecrets.length; i += 2) {
			yaml.append("        - id: ").append(idsAndSecrets[i]).append('\n');
			yaml.append("          secret: \"").append(idsAndSecrets[i + 1]).append("\"\n");
		}
		return yaml.toString();
	}

	static String config(String adminToken, String teamAToken, String keys) {
		return config(adminToken, teamAToken, keys, "", "");
	}

	/** The configuration with pool {@code test} and its route, and more pools and routes. */
	static String config(String adminToken, String teamAToken, String keys, String morePools, String moreRoutes) {
		return """
				keypool:
				  admin:
				    token: %s
				  clients:
				    - id: team-a
				      token: %s
				    - id: team-b
				      token: %s
				  pools:
				    test:
				      byok: false
				      keys:
				%s%s
				spring.cloud.gateway.server.webflux.routes:
				  - id: test
				    uri: %s
				    predicates: [Path=/v1/**]
				    filters: [KeyFailover=test]
				%s""".formatted(adminToken, teamAToken, TEAM_B, keys, morePools, upstream.url(), moreRoutes);
	}

}
