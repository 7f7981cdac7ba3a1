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
 * A Redis Cluster of three masters (no replicas), private to the test class: three
 * {@code redis-server --cluster-enabled yes} processes on free ports (their cluster bus ports
 * free too), joined by {@code redis-cli --cluster create}. Skipped without the binaries,
 * failing under {@code CI=true} (see {@link RedisProcess}).
 *
 * <pre>
 * &#64;RegisterExtension
 * static final RedisClusterSupport cluster = new RedisClusterSupport();
 * </pre>
 */
public final class RedisClusterSupport implements BeforeAllCallback, AfterAllCallback {

	private static final int MASTERS = 3;

	private final List<RedisProcess> nodes = new ArrayList<>();

	private Path dir;

	@Override
	public void beforeAll(ExtensionContext context) throws IOException {
		this.dir = Files.createTempDirectory("keypool-redis-cluster");
		for (int i = 0; i < MASTERS; i++) {
			int port = RedisProcess.freePort();
			int busPort = RedisProcess.freePort();
			this.nodes.add(RedisProcess.start(this.dir.resolve("node-" + port), port,
					List.of("--port", Integer.toString(port), "--cluster-enabled", "yes", "--cluster-port",
							Integer.toString(busPort), "--cluster-config-file", "nodes.conf", "--cluster-node-timeout",
							"2000", "--save", "", "--appendonly", "no", "--bind", "127.0.0.1")));
		}
		List<String> create = new ArrayList<>(List.of("--cluster", "create"));
		this.nodes.forEach((node) -> create.add("127.0.0.1:" + node.port()));
		create.add("--cluster-yes");
		RedisProcess.cli(create);
		Awaitility.await("every node of the cluster reporting cluster_state:ok")
			.atMost(Duration.ofSeconds(20))
			.pollInterval(Duration.ofMillis(50))
			.until(() -> this.nodes.stream().allMatch((node) -> {
				String info = node.command("CLUSTER INFO");
				return info != null && info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:" + MASTERS);
			}));
	}

	@Override
	public void afterAll(ExtensionContext context) {
		this.nodes.forEach(RedisProcess::stop);
		this.nodes.clear();
		if (this.dir != null) {
			FileSystemUtils.deleteRecursively(this.dir.toFile());
		}
	}

	/** {@code spring.data.redis.cluster.nodes}: every node, as {@code host:port}. */
	public String nodes() {
		return this.nodes.stream().map((node) -> "127.0.0.1:" + node.port()).collect(Collectors.joining(","));
	}

	public List<RedisProcess> processes() {
		return List.copyOf(this.nodes);
	}

	/** Empties every node. */
	public void flushAll() {
		this.nodes.forEach((node) -> node.command("FLUSHALL"));
	}

	/** How many keys each node holds, in node order. */
	public List<Long> keysPerNode() {
		return this.nodes.stream().map((node) -> Long.parseLong(node.command("DBSIZE"))).toList();
	}

}
