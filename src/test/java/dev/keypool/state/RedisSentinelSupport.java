package dev.keypool.state;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import org.springframework.util.FileSystemUtils;

/**
 * A Sentinel set private to the test class: a master, one replica and three sentinels
 * ({@code redis-server --sentinel}, which is what the {@code redis-sentinel} binary is), on
 * free ports, watching master {@value #MASTER} with a quorum of two and a down-after of one
 * second. The master can be killed with {@code SIGKILL}; the sentinels then promote the
 * replica. Skipped without the binaries, failing under {@code CI=true} (see
 * {@link RedisProcess}).
 */
public final class RedisSentinelSupport implements BeforeAllCallback, AfterAllCallback {

	public static final String MASTER = "keypool-master";

	private final List<RedisProcess> sentinels = new ArrayList<>();

	private final List<RedisProcess> data = new ArrayList<>();

	private Path dir;

	@Override
	public void beforeAll(ExtensionContext context) throws IOException {
		this.dir = Files.createTempDirectory("keypool-redis-sentinel");
		int masterPort = RedisProcess.freePort();
		this.data.add(RedisProcess.start(this.dir.resolve("master"), masterPort, dataNode(masterPort, List.of())));
		int replicaPort = RedisProcess.freePort();
		this.data.add(RedisProcess.start(this.dir.resolve("replica"), replicaPort,
				dataNode(replicaPort, List.of("--replicaof", "127.0.0.1", Integer.toString(masterPort)))));
		for (int i = 0; i < 3; i++) {
			int port = RedisProcess.freePort();
			Path home = this.dir.resolve("sentinel-" + i);
			Files.createDirectories(home);
			Path conf = home.resolve("sentinel.conf");
			Files.writeString(conf, String.join("\n", "port " + port, "bind 127.0.0.1",
					"sentinel monitor " + MASTER + " 127.0.0.1 " + masterPort + " 2",
					"sentinel down-after-milliseconds " + MASTER + " 1000",
					"sentinel failover-timeout " + MASTER + " 10000", "sentinel parallel-syncs " + MASTER + " 1", ""));
			this.sentinels.add(RedisProcess.start(home, port, List.of(conf.toString(), "--sentinel")));
		}
		// a failover needs the sentinels to know each other and the replica, and the replica in sync
		Awaitility.await("the sentinels knowing each other and the replica, the replica in sync")
			.atMost(Duration.ofSeconds(30))
			.pollInterval(Duration.ofMillis(100))
			.until(() -> this.sentinels.stream().allMatch((sentinel) -> {
				String master = sentinel.command("SENTINEL MASTER " + MASTER);
				return master != null && master.contains("num-slaves 1") && master.contains("num-other-sentinels 2");
			}) && this.data.get(0).command("INFO replication").contains("state=online"));
	}

	@Override
	public void afterAll(ExtensionContext context) {
		this.sentinels.forEach(RedisProcess::stop);
		this.data.forEach(RedisProcess::stop);
		this.sentinels.clear();
		this.data.clear();
		if (this.dir != null) {
			FileSystemUtils.deleteRecursively(this.dir.toFile());
		}
	}

	private static List<String> dataNode(int port, List<String> more) {
		List<String> args = new ArrayList<>(List.of("--port", Integer.toString(port), "--save", "", "--appendonly",
				"no", "--bind", "127.0.0.1"));
		args.addAll(more);
		return args;
	}

	/** {@code spring.data.redis.sentinel.nodes}. */
	public String sentinelNodes() {
		return this.sentinels.stream().map((node) -> "127.0.0.1:" + node.port()).collect(Collectors.joining(","));
	}

	/** The port of the master the sentinels name now. */
	public int masterPort() {
		String address = this.sentinels.get(0).command("SENTINEL GET-MASTER-ADDR-BY-NAME " + MASTER);
		return Integer.parseInt(address.substring(address.indexOf(' ') + 1));
	}

	/** {@code kill -9} of the current master; returns its port. */
	public int killMaster() {
		int port = masterPort();
		for (RedisProcess node : this.data) {
			if (node.port() == port && node.isAlive()) {
				node.kill();
			}
		}
		return port;
	}

}
