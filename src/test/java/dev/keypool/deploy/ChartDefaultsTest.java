package dev.keypool.deploy;

import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.PodSpec;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** What {@code helm template} renders with the chart's default values. */
class ChartDefaultsTest {

	private final Chart.Rendered chart = Chart.renderDefaults();

	@Test
	void defaultValuesRenderASingleReplicaDeploymentWithItsConfigSecretAndServices() {
		assertThat(this.chart.kinds()).containsExactlyInAnyOrder("ServiceAccount", "Secret", "ConfigMap", "Service",
				"Service", "Deployment");
		assertThat(this.chart.deployment().getSpec().getReplicas()).isEqualTo(1);
	}

	@Test
	void probesAskTheActuatorHealthGroupsOnTheManagementPort() {
		Container gateway = this.chart.gatewayContainer();

		assertThat(probeTarget(gateway, gateway.getLivenessProbe())).isEqualTo("8081/actuator/health/liveness");
		assertThat(probeTarget(gateway, gateway.getReadinessProbe())).isEqualTo("8081/actuator/health/readiness");
		assertThat(probeTarget(gateway, gateway.getStartupProbe())).isEqualTo("8081/actuator/health/liveness");
	}

	@Test
	void applicationConfigServesTheProbesOnThePortsTheDeploymentDeclares() {
		Map<String, Object> config = this.chart.applicationConfig();

		assertThat(Chart.<Object>at(config, "server", "port")).isEqualTo(containerPort("http"));
		assertThat(Chart.<Object>at(config, "management", "server", "port")).isEqualTo(containerPort("management"));
		assertThat(Chart.<Object>at(config, "management", "endpoint", "health", "probes", "enabled")).isEqualTo(true);
		assertThat(Chart.<String>at(config, "management", "endpoints", "web", "exposure", "include"))
			.contains("health", "prometheus", "keypools");
	}

	@Test
	void shutdownIsGracefulWithinTheTerminationGracePeriod() {
		Map<String, Object> config = this.chart.applicationConfig();

		assertThat(Chart.<Object>at(config, "server", "shutdown")).isEqualTo("graceful");
		// Spring's default spring.lifecycle.timeout-per-shutdown-phase is 30s.
		assertThat(this.chart.deployment().getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds())
			.isGreaterThan(30L);
	}

	@Test
	void podRunsAsNonRootOnAReadOnlyRootFilesystemWithoutCapabilities() {
		PodSpec pod = this.chart.deployment().getSpec().getTemplate().getSpec();
		Container gateway = this.chart.gatewayContainer();

		assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
		assertThat(pod.getSecurityContext().getRunAsUser()).isPositive();
		assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
		assertThat(gateway.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
		assertThat(gateway.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
		assertThat(gateway.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
		assertThat(pod.getAutomountServiceAccountToken()).isFalse();
	}

	@Test
	void tmpIsAWritableEmptyDirBecauseTheRootFilesystemIsReadOnly() {
		PodSpec pod = this.chart.deployment().getSpec().getTemplate().getSpec();

		VolumeMount tmp = mount("/tmp");
		Volume volume = pod.getVolumes().stream().filter(v -> v.getName().equals(tmp.getName())).findFirst().orElseThrow();
		assertThat(volume.getEmptyDir()).isNotNull();
		assertThat(tmp.getReadOnly()).isNotEqualTo(Boolean.TRUE);
	}

	@Test
	void configMapIsMountedWhereSpringLooksForAdditionalConfig() {
		Container gateway = this.chart.gatewayContainer();
		PodSpec pod = this.chart.deployment().getSpec().getTemplate().getSpec();

		VolumeMount config = mount("/etc/keypool-gateway");
		Volume volume = pod.getVolumes().stream().filter(v -> v.getName().equals(config.getName())).findFirst().orElseThrow();
		assertThat(volume.getConfigMap().getName()).isEqualTo(Chart.FULLNAME);
		assertThat(gateway.getEnv()).anySatisfy(env -> {
			assertThat(env.getName()).isEqualTo("SPRING_CONFIG_ADDITIONAL_LOCATION");
			assertThat(env.getValue()).isEqualTo("file:/etc/keypool-gateway/");
		});
	}

	@Test
	void everySecretTheConfigRefersToIsAKeyOfTheSecretThePodReads() {
		Secret secret = this.chart.get(Secret.class, Chart.FULLNAME);

		assertThat(this.chart.deployment().getSpec().getTemplate().getSpec().getVolumes())
			.anySatisfy(volume -> assertThat(volume.getSecret()).extracting("secretName").isEqualTo(Chart.FULLNAME));
		assertThat(secret.getData().keySet()).containsAll(placeholders(this.chart.applicationYaml()));
	}

	@Test
	void configHoldsNoSecretValueOnlyPlaceholders() {
		Map<String, Object> config = this.chart.applicationConfig();

		List<Map<String, Object>> keys = Chart.at(config, "keypool", "pools", "anthropic", "keys");
		assertThat(keys).allSatisfy(key -> assertThat((String) key.get("secret")).matches("\\$\\{[A-Z0-9_]+}"));
		assertThat(Chart.<List<Map<String, Object>>>at(config, "keypool", "clients"))
			.allSatisfy(client -> assertThat((String) client.get("token")).matches("\\$\\{[A-Z0-9_]+}"));
	}

	@Test
	void publicServiceCarriesOnlyTheApiPortAndTheManagementServiceOnlyTheActuator() {
		Service api = this.chart.get(Service.class, Chart.FULLNAME);
		Service management = this.chart.get(Service.class, Chart.FULLNAME + "-management");

		assertThat(api.getSpec().getPorts()).extracting(ServicePort::getName, p -> p.getTargetPort().getStrVal(), ServicePort::getPort)
			.containsExactly(org.assertj.core.groups.Tuple.tuple("http", "http", 8080));
		assertThat(management.getSpec().getPorts()).extracting(ServicePort::getName, p -> p.getTargetPort().getStrVal(), ServicePort::getPort)
			.containsExactly(org.assertj.core.groups.Tuple.tuple("management", "management", 8081));
		assertThat(containerPort("http")).isEqualTo(8080);
		assertThat(containerPort("management")).isEqualTo(8081);
	}

	@Test
	void servicesSelectTheDeploymentsPods() {
		Deployment deployment = this.chart.deployment();
		Map<String, String> podLabels = deployment.getSpec().getTemplate().getMetadata().getLabels();

		assertThat(this.chart.all(Service.class)).allSatisfy(service ->
				assertThat(podLabels).containsAllEntriesOf(service.getSpec().getSelector()));
		assertThat(podLabels).containsAllEntriesOf(deployment.getSpec().getSelector().getMatchLabels());
	}

	@Test
	void podTemplateCarriesTheChecksumOfTheConfigButNotOfTheSecretWhichReloadsInPlace() {
		Map<String, String> annotations = this.chart.deployment().getSpec().getTemplate().getMetadata().getAnnotations();

		assertThat(annotations.get("checksum/config")).matches("[0-9a-f]{64}");
		assertThat(annotations).doesNotContainKey("checksum/secret");
	}

	private Integer containerPort(String name) {
		return this.chart.gatewayContainer().getPorts().stream()
			.filter(p -> name.equals(p.getName()))
			.map(ContainerPort::getContainerPort)
			.findFirst()
			.orElseThrow(() -> new AssertionError("no container port named " + name));
	}

	private VolumeMount mount(String path) {
		return this.chart.gatewayContainer().getVolumeMounts().stream()
			.filter(m -> m.getMountPath().equals(path))
			.findFirst()
			.orElseThrow(() -> new AssertionError("nothing mounted at " + path));
	}

	/** "port/path" a probe hits, with a named port resolved to the container's port number. */
	private String probeTarget(Container container, Probe probe) {
		assertThat(probe).isNotNull();
		var port = probe.getHttpGet().getPort();
		int number = (port.getIntVal() != null) ? port.getIntVal() : containerPort(port.getStrVal());
		return number + probe.getHttpGet().getPath();
	}

	static List<String> placeholders(String yaml) {
		Matcher matcher = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}").matcher(yaml);
		return matcher.results().map(m -> m.group(1)).distinct().collect(Collectors.toList());
	}

}
