package dev.keypool.config.reload;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.keypool.config.reload.ReloadingGateway.Response;
import dev.keypool.config.reload.ReloadingGateway.Traffic;
import dev.keypool.pool.KeyStatus;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Keys and a client token from a config tree laid out the way kubelet mounts a Kubernetes
 * Secret: each file a link through {@code ..data} into a timestamped directory. kubelet
 * updates it by writing a new timestamped directory and swapping the {@code ..data} link in
 * one rename; the gateway picks the new values up at its next check.
 */
class ConfigTreeReloadIntegrationTest {

	static final String K0 = "sk-tree-k0-old-aaaaaaaa";

	static final String K0_NEW = "sk-tree-k0-new-bbbbbbbb";

	static final String K1 = "sk-tree-k1-cccccccc";

	static final String TEAM_A = "client-token-tree-team-a-1";

	static final String TEAM_A_NEW = "client-token-tree-team-a-2";

	static final String TEAM_B = "client-token-tree-team-b-1";

	static final KeyCheckingUpstream upstream = new KeyCheckingUpstream();

	static Path secrets;

	static ReloadingGateway gateway;

	@BeforeAll
	static void start() throws IOException {
		secrets = Files.createTempDirectory("keypool-secrets");
		kubeletWrites(1, Map.of("k0-secret", K0, "k1-secret", K1, "team-a-token", TEAM_A));
		Map<String, String> settings = new LinkedHashMap<>();
		settings.put("spring.config.import", "optional:configtree:" + secrets.toAbsolutePath() + "/");
		settings.put("keypool.admin.token", ReloadingGateway.ADMIN_TOKEN);
		settings.put("keypool.clients[0].id", "team-a");
		settings.put("keypool.clients[0].token", "${team-a-token}");
		settings.put("keypool.clients[1].id", "team-b");
		settings.put("keypool.clients[1].token", TEAM_B);
		settings.put("keypool.pools.test.byok", "false");
		settings.put("keypool.pools.test.keys[0].id", "k0");
		settings.put("keypool.pools.test.keys[0].secret", "${k0-secret}");
		settings.put("keypool.pools.test.keys[1].id", "k1");
		settings.put("keypool.pools.test.keys[1].secret", "${k1-secret}");
		gateway = ReloadingGateway.start(upstream.url(), settings);
	}

	@AfterAll
	static void stop() throws IOException {
		if (gateway != null) {
			gateway.close();
		}
		upstream.close();
		try (var files = Files.walk(secrets)) {
			files.sorted(Comparator.reverseOrder()).forEach((path) -> path.toFile().delete());
		}
	}

	@Test
	void aSecretUpdatedTheWayKubeletDoesIsPickedUpAtTheNextCheck() throws IOException {
		upstream.revoke(K0);
		assertThat(gateway.post(TEAM_A).servedBy()).isEqualTo("k1");
		assertThat(gateway.status("k0")).isEqualTo(KeyStatus.DISABLED);

		List<Response> responses;
		long switched;
		try (Traffic traffic = new Traffic(gateway, TEAM_B, 2)) {
			traffic.awaitMore(10);
			kubeletWrites(2, Map.of("k0-secret", K0_NEW, "k1-secret", K1, "team-a-token", TEAM_A_NEW));
			assertThat(gateway.checkFiles()).isTrue();
			switched = traffic.sentSoFar();
			traffic.awaitMore(10);
			responses = traffic.stop();
		}

		assertThat(responses).extracting(Response::status).containsOnly(200);
		assertThat(upstream.secretsAfter(switched)).contains(K0_NEW).doesNotContain(K0);
		assertThat(gateway.status("k0")).isEqualTo(KeyStatus.AVAILABLE);
		assertThat(gateway.post(TEAM_A).status()).isEqualTo(401);
		assertThat(gateway.post(TEAM_A_NEW).servedBy()).isEqualTo("k0");
		assertThat(gateway.checkFiles()).as("nothing changed since").isFalse();
	}

	@Test
	void aSecretFileWrittenInPlaceIsNotUsedWhileItKeepsChangingAndIsOnceItSettled() throws IOException {
		Path k0 = secrets.resolve("k0-secret");
		writeInPlace(K0, TEAM_A);
		try {
			Files.writeString(k0, K0_NEW.substring(0, 12));
			assertThat(gateway.checkOnce()).as("caught mid-write").isFalse();
			Files.writeString(k0, K0_NEW.substring(0, 18));
			assertThat(gateway.checkOnce()).as("still being written").isFalse();
			assertThat(gateway.post(TEAM_A).servedBy()).isEqualTo("k0");
			assertThat(upstream.secrets()).as("no truncated secret in use").containsOnly(K0);

			Files.writeString(k0, K0_NEW);
			assertThat(gateway.checkOnce()).isFalse();
			assertThat(gateway.checkOnce()).as("settled").isTrue();
			upstream.reset();
			assertThat(gateway.post(TEAM_A).servedBy()).isEqualTo("k0");
			assertThat(upstream.secrets()).containsExactly(K0_NEW);
		}
		finally {
			writeInPlace(K0, TEAM_A);
		}
	}

	@Test
	void aHugeFileInTheTreeIsRefusedUnreadAndTheWatcherKeepsWorking() throws IOException {
		writeInPlace(K0, TEAM_A);
		Path huge = secrets.resolve("huge");
		long refusedBefore = gateway.reloader().refused();
		try {
			try (var channel = java.nio.channels.FileChannel.open(huge, java.nio.file.StandardOpenOption.CREATE_NEW,
					java.nio.file.StandardOpenOption.WRITE)) {
				// sparse: 2.2 GB in size, nothing on disk
				channel.write(java.nio.ByteBuffer.wrap(new byte[] { 'x' }), 2_200_000_000L);
			}

			assertThat(gateway.checkFiles()).isFalse();
			assertThat(gateway.reloader().refused()).as("refused once, not at every look").isEqualTo(refusedBefore + 1);
			assertThat(gateway.management("POST", "/actuator/refresh", ReloadingGateway.ADMIN_TOKEN).status())
				.isEqualTo(200);
			assertThat(gateway.reloader().refused()).isEqualTo(refusedBefore + 2);
			assertThat(gateway.post(TEAM_A).servedBy()).isEqualTo("k0");
		}
		finally {
			Files.deleteIfExists(huge);
		}
		Files.writeString(secrets.resolve("k0-secret"), K0_NEW);
		assertThat(gateway.checkFiles()).as("the next good change applies").isTrue();
		upstream.reset();
		assertThat(gateway.post(TEAM_A).servedBy()).isEqualTo("k0");
		assertThat(upstream.secrets()).containsExactly(K0_NEW);
		writeInPlace(K0, TEAM_A);
	}

	/**
	 * The starting values, whatever another test left, in force before and after. The kubelet
	 * test revokes K0 while traffic runs: a request still in flight with K0 when it rotates k0
	 * can mark K0's state again after the rotation dropped it, so k0 is reset here explicitly.
	 */
	private static void writeInPlace(String k0Secret, String teamAToken) throws IOException {
		Files.writeString(secrets.resolve("k0-secret"), k0Secret);
		Files.writeString(secrets.resolve("team-a-token"), teamAToken);
		gateway.checkFiles();
		upstream.reset();
		assertThat(gateway.management("DELETE", "/actuator/keypools/test/k0", ReloadingGateway.ADMIN_TOKEN).status())
			.isLessThan(300);
	}

	/**
	 * What kubelet does (atomic_writer.go): the files go into a new hidden timestamped
	 * directory, a {@code ..data_tmp} link to it is renamed over {@code ..data}, each visible
	 * name is a link to {@code ..data/<name>}, and the old directory is removed.
	 */
	static void kubeletWrites(int generation, Map<String, String> files) throws IOException {
		Path timestamped = secrets.resolve("..2026_01_01_00_00_0" + generation + ".00000000" + generation);
		Files.createDirectory(timestamped);
		for (Map.Entry<String, String> file : files.entrySet()) {
			Files.writeString(timestamped.resolve(file.getKey()), file.getValue());
		}
		Path data = secrets.resolve("..data");
		Path previous = Files.isSymbolicLink(data) ? secrets.resolve(Files.readSymbolicLink(data)) : null;
		Path tmp = secrets.resolve("..data_tmp");
		Files.createSymbolicLink(tmp, timestamped.getFileName());
		Files.move(tmp, data, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
		for (String name : files.keySet()) {
			Path visible = secrets.resolve(name);
			if (!Files.isSymbolicLink(visible)) {
				Files.createSymbolicLink(visible, Path.of("..data").resolve(name));
			}
		}
		if (previous != null) {
			try (var old = Files.walk(previous)) {
				old.sorted(Comparator.reverseOrder()).forEach((path) -> path.toFile().delete());
			}
		}
	}

}
