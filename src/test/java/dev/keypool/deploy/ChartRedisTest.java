package dev.keypool.deploy;

import java.util.Map;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Volume;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code redis.*}: the chart writes Spring Boot's own spring.data.redis.* for a standalone
 * Redis, a Sentinel set or a Cluster, TLS with a CA from a Secret mounted as a file for the SSL
 * bundle, and an ACL user whose password comes from a Secret, never from the ConfigMap.
 */
class ChartRedisTest {

	@Test
	void noRedisModeAddsNothing() {
		Map<String, Object> config = Chart.renderDefaults().applicationConfig();

		assertThat(Chart.<Object>at(config, "spring", "data", "redis")).isNull();
		assertThat(Chart.renderDefaults().gatewayContainer().getEnv()).extracting(EnvVar::getName)
			.doesNotContain("KEYPOOL_REDIS_PASSWORD");
	}

	@Test
	void standaloneWithAnAclUserTakesThePasswordFromItsSecret() {
		Chart.Rendered chart = Chart.render(Map.of("redis.mode", "standalone", "redis.host", "redis-master.redis.svc",
				"redis.username", "keypool", "redis.password.existingSecret", "redis", "redis.password.key",
				"redis-password"));
		Map<String, Object> config = chart.applicationConfig();

		assertThat(Chart.<String>at(config, "keypool", "state", "store")).isEqualTo("redis");
		assertThat(Chart.<Map<String, Object>>at(config, "spring", "data", "redis")).containsEntry("host",
				"redis-master.redis.svc")
			.containsEntry("port", 6379)
			.containsEntry("username", "keypool")
			.containsEntry("password", "${KEYPOOL_REDIS_PASSWORD}");
		EnvVar password = env(chart.gatewayContainer(), "KEYPOOL_REDIS_PASSWORD");
		assertThat(password.getValue()).isNull();
		assertThat(password.getValueFrom().getSecretKeyRef().getName()).isEqualTo("redis");
		assertThat(password.getValueFrom().getSecretKeyRef().getKey()).isEqualTo("redis-password");
		assertThat(chart.get(ConfigMap.class, Chart.FULLNAME).getData().toString()).doesNotContain("redis-password");
	}

	@Test
	void sentinelNamesTheMasterAndTheSentinels() {
		Chart.Rendered chart = Chart.render(Map.of("redis.mode", "sentinel", "redis.sentinel.master", "mymaster",
				"redis.sentinel.nodes[0]", "redis-node-0.redis-headless:26379", "redis.sentinel.nodes[1]",
				"redis-node-1.redis-headless:26379"));

		assertThat(Chart.<Map<String, Object>>at(chart.applicationConfig(), "spring", "data", "redis", "sentinel"))
			.containsEntry("master", "mymaster")
			.containsEntry("nodes", "redis-node-0.redis-headless:26379,redis-node-1.redis-headless:26379");
		assertThat(Chart.<Object>at(chart.applicationConfig(), "spring", "data", "redis", "host")).isNull();
	}

	@Test
	void clusterListsItsNodes() {
		Chart.Rendered chart = Chart.render(Map.of("redis.mode", "cluster", "redis.cluster.nodes[0]",
				"redis-cluster-0.redis-cluster-headless:6379", "redis.cluster.nodes[1]",
				"redis-cluster-1.redis-cluster-headless:6379"));

		assertThat(Chart.<String>at(chart.applicationConfig(), "spring", "data", "redis", "cluster", "nodes"))
			.isEqualTo("redis-cluster-0.redis-cluster-headless:6379,redis-cluster-1.redis-cluster-headless:6379");
	}

	@Test
	void tlsTrustsTheCaFromASecretMountedAsAFileForTheSslBundle() {
		Chart.Rendered chart = Chart.render(Map.of("redis.mode", "standalone", "redis.host", "my-cache.example.com",
				"redis.port", 6380, "redis.tls.enabled", true, "redis.tls.caSecret", "redis-ca", "redis.tls.caKey",
				"ca.pem"));
		Map<String, Object> config = chart.applicationConfig();

		assertThat(Chart.<Map<String, Object>>at(config, "spring", "data", "redis", "ssl")).containsEntry("enabled", true)
			.containsEntry("bundle", "keypool-redis");
		assertThat(Chart.<String>at(config, "spring", "ssl", "bundle", "pem", "keypool-redis", "truststore",
				"certificate"))
			.isEqualTo("file:/etc/keypool/redis-tls/ca.pem");
		Volume ca = chart.deployment()
			.getSpec()
			.getTemplate()
			.getSpec()
			.getVolumes()
			.stream()
			.filter((volume) -> volume.getName().equals("redis-tls"))
			.findFirst()
			.orElseThrow();
		assertThat(ca.getSecret().getSecretName()).isEqualTo("redis-ca");
		assertThat(chart.gatewayContainer().getVolumeMounts()).anySatisfy((mount) -> {
			assertThat(mount.getName()).isEqualTo("redis-tls");
			assertThat(mount.getMountPath()).isEqualTo("/etc/keypool/redis-tls");
			assertThat(mount.getReadOnly()).isTrue();
			assertThat(mount.getSubPath()).isNull();
		});
	}

	@Test
	void tlsWithoutACaSecretTrustsTheJvmsCas() {
		Chart.Rendered chart = Chart.render(
				Map.of("redis.mode", "standalone", "redis.host", "my-cache.example.com", "redis.tls.enabled", true));

		assertThat(Chart.<Map<String, Object>>at(chart.applicationConfig(), "spring", "data", "redis", "ssl"))
			.containsEntry("enabled", true)
			.doesNotContainKey("bundle");
		assertThat(chart.deployment().getSpec().getTemplate().getSpec().getVolumes()).extracting(Volume::getName)
			.doesNotContain("redis-tls");
	}

	@Test
	void theSchemaRefusesATopologyWithoutItsNodes() {
		assertThatThrownBy(() -> Chart.render(Map.of("redis.mode", "cluster"))).hasMessageContaining("nodes");
		assertThatThrownBy(() -> Chart.render(Map.of("redis.mode", "sentinel"))).hasMessageContaining("nodes");
		assertThatThrownBy(() -> Chart.render(Map.of("redis.mode", "replicated"))).hasMessageContaining("mode");
	}

	private static EnvVar env(Container container, String name) {
		return container.getEnv()
			.stream()
			.filter((candidate) -> candidate.getName().equals(name))
			.findFirst()
			.orElseThrow(() -> new AssertionError("no " + name + " in " + container.getEnv()));
	}

}
