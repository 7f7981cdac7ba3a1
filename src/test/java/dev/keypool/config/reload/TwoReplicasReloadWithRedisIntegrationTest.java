package dev.keypool.config.reload;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyStatus;
import dev.keypool.state.RedisServerSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two replicas sharing key state through one real Redis, each reloading on its own from the
 * same file: a key id reused with a new secret does not inherit the old secret's disabled
 * flag on either, whichever replica reloads first, and a removed key's state leaves Redis.
 */
class TwoReplicasReloadWithRedisIntegrationTest {

	@RegisterExtension
	static final RedisServerSupport redis = new RedisServerSupport();

	static final String K0 = "sk-redis-k0-old-aaaaaaaa";

	static final String K0_NEW = "sk-redis-k0-new-bbbbbbbb";

	static final String K1 = "sk-redis-k1-cccccccc";

	static final String TEAM_A = "client-token-redis-team-a-1";

	static final KeyCheckingUpstream upstream = new KeyCheckingUpstream();

	static Path directory;

	static Path file;

	static ReloadingGateway replicaA;

	static ReloadingGateway replicaB;

	@BeforeAll
	static void start() throws IOException {
		directory = Files.createTempDirectory("keypool-reload-redis");
		file = directory.resolve("keypool.yaml");
		ReloadingGateway.write(file, config(K0, true));
		replicaA = ReloadingGateway.start(upstream.url(), settings());
		replicaB = ReloadingGateway.start(upstream.url(), settings());
	}

	private static Map<String, String> settings() {
		Map<String, String> settings = new LinkedHashMap<>();
		settings.put("spring.config.additional-location", "file:" + file.toAbsolutePath());
		settings.put("keypool.state.store", "redis");
		settings.put("spring.data.redis.host", redis.host());
		settings.put("spring.data.redis.port", Integer.toString(redis.port()));
		settings.put("spring.data.redis.timeout", "500ms");
		return settings;
	}

	@AfterAll
	static void stop() throws IOException {
		if (replicaB != null) {
			replicaB.close();
		}
		if (replicaA != null) {
			replicaA.close();
		}
		upstream.close();
		try (var files = Files.walk(directory)) {
			files.sorted(Comparator.reverseOrder()).forEach((path) -> path.toFile().delete());
		}
	}

	@BeforeEach
	void startingConfiguration() {
		await().atMost(Duration.ofSeconds(5))
			.untilAsserted(() -> assertThat(replicaA.storeHealth()).isEqualTo(replicaB.storeHealth())
				.extracting("connected")
				.isEqualTo(true));
		ReloadingGateway.write(file, config(K0, true));
		replicaA.checkFiles();
		replicaB.checkFiles();
		KeyPool pool = replicaA.pool();
		pool.keys().forEach(pool::reset);
		await().atMost(Duration.ofSeconds(2))
			.until(() -> replicaB.status("k0") == KeyStatus.AVAILABLE && replicaB.status("k1") == KeyStatus.AVAILABLE);
		upstream.reset();
	}

	@Test
	void aKeyIdReusedWithANewSecretIsNotDisabledOnEitherReplica() {
		upstream.revoke(K0);
		assertThat(replicaA.post(TEAM_A).servedBy()).isEqualTo("k1");
		await().atMost(Duration.ofSeconds(2)).until(() -> replicaB.status("k0") == KeyStatus.DISABLED);

		ReloadingGateway.write(file, config(K0_NEW, true));
		assertThat(replicaA.checkFiles()).isTrue();

		assertThat(replicaA.status("k0")).as("A: the new secret starts available").isEqualTo(KeyStatus.AVAILABLE);
		assertThat(replicaA.post(TEAM_A).servedBy()).isEqualTo("k0");
		// B still holds the old secret: whatever it does with it, A's new one is untouched
		assertThat(replicaB.post(TEAM_A).status()).isEqualTo(200);
		assertThat(replicaB.post(TEAM_A).status()).isEqualTo(200);
		assertThat(replicaA.status("k0")).isEqualTo(KeyStatus.AVAILABLE);

		assertThat(replicaB.checkFiles()).isTrue();

		assertThat(replicaB.status("k0")).as("B: the new secret starts available").isEqualTo(KeyStatus.AVAILABLE);
		assertThat(replicaB.post(TEAM_A).servedBy()).isEqualTo("k0");
		assertThat(upstream.secrets()).endsWith(K0_NEW);
		await().during(Duration.ofMillis(300))
			.atMost(Duration.ofSeconds(2))
			.until(() -> replicaA.status("k0") == KeyStatus.AVAILABLE && replicaB.status("k0") == KeyStatus.AVAILABLE);
	}

	@Test
	void aRemovedKeysStateLeavesRedis() {
		upstream.revoke(K1);
		KeyPool pool = replicaA.pool();
		pool.disable(pool.key("k1").orElseThrow(), 401);
		String entry = "keypool:{test}:key:" + pool.stateId(pool.key("k1").orElseThrow());
		await().atMost(Duration.ofSeconds(2)).until(() -> "1".equals(redis.command("EXISTS " + entry)));

		ReloadingGateway.write(file, config(K0, false));
		assertThat(replicaA.checkFiles()).isTrue();
		assertThat(replicaB.checkFiles()).isTrue();

		await().atMost(Duration.ofSeconds(2)).until(() -> "0".equals(redis.command("EXISTS " + entry)));
		assertThat(replicaB.pool().key("k1")).isEmpty();
	}

	static String config(String k0Secret, boolean withK1) {
		return """
				keypool:
				  clients:
				    - id: team-a
				      token: %s
				  pools:
				    test:
				      keys:
				        - id: k0
				          secret: %s
				%s""".formatted(TEAM_A, k0Secret, withK1 ? """
				        - id: k1
				          secret: %s
				""".formatted(K1) : "");
	}

}
