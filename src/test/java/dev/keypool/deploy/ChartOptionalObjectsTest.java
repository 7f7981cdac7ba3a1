package dev.keypool.deploy;

import java.util.List;
import java.util.Map;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/** Objects rendered only when asked for. */
class ChartOptionalObjectsTest {

	@ParameterizedTest(name = "{0}=true renders a {1}")
	@CsvSource({
		"serviceMonitor.enabled, ServiceMonitor",
		"prometheusRule.enabled, PrometheusRule",
		"autoscaling.enabled, HorizontalPodAutoscaler",
		"ingress.enabled, Ingress",
		"networkPolicy.enabled, NetworkPolicy",
	})
	void optInObjectAppearsOnlyWhenEnabled(String flag, String kind) {
		assertThat(Chart.renderDefaults().kinds()).doesNotContain(kind);
		assertThat(Chart.render(Map.of(flag, true)).kinds()).contains(kind);
	}

	@Test
	void serviceMonitorScrapesThePrometheusEndpointOfTheManagementServiceOnly() {
		Chart.Rendered chart = Chart.render(Map.of("serviceMonitor.enabled", true, "serviceMonitor.interval", "15s"));
		GenericKubernetesResource monitor = chart.custom("ServiceMonitor").get(0);

		Map<String, String> selector = Chart.at(monitor.getAdditionalProperties(), "spec", "selector", "matchLabels");
		List<Map<String, Object>> endpoints = Chart.at(monitor.getAdditionalProperties(), "spec", "endpoints");
		assertThat(chart.all(Service.class))
			.filteredOn(service -> service.getMetadata().getLabels().entrySet().containsAll(selector.entrySet()))
			.extracting(service -> service.getMetadata().getName())
			.containsExactly(Chart.FULLNAME + "-management");
		assertThat(endpoints).singleElement().satisfies(endpoint -> {
			assertThat(endpoint).containsEntry("port", "management").containsEntry("path", "/actuator/prometheus");
			assertThat(endpoint).containsEntry("interval", "15s");
		});
	}

	@Test
	void networkPolicyAdmitsOnlyTheMonitoringNamespaceToTheManagementPort() {
		NetworkPolicy policy = Chart.render(Map.of("networkPolicy.enabled", true)).get(NetworkPolicy.class, Chart.FULLNAME);

		NetworkPolicyIngressRule management = policy.getSpec().getIngress().stream()
			.filter(rule -> rule.getPorts().stream().anyMatch(p -> "management".equals(p.getPort().getStrVal())))
			.findFirst()
			.orElseThrow();
		assertThat(management.getFrom()).singleElement().satisfies(peer ->
				assertThat(peer.getNamespaceSelector().getMatchLabels())
					.containsExactly(Map.entry("kubernetes.io/metadata.name", "monitoring")));
		assertThat(policy.getSpec().getIngress()).allSatisfy(rule ->
				assertThat(rule.getPorts()).noneMatch(p -> "management".equals(p.getPort().getStrVal()) && rule.getFrom() == null));
	}

	@Test
	void autoscalerOwnsTheReplicaCount() {
		Chart.Rendered chart = Chart.render(Map.of("autoscaling.enabled", true, "config.keypool.state.store", "redis"));

		HorizontalPodAutoscaler hpa = chart.get(HorizontalPodAutoscaler.class, Chart.FULLNAME);
		assertThat(hpa.getSpec().getScaleTargetRef().getName()).isEqualTo(Chart.FULLNAME);
		assertThat(chart.deployment().getSpec().getReplicas()).isNull();
	}

	@Test
	void ingressRoutesToThePublicPortOnly() {
		Ingress ingress = Chart.render(Map.of("ingress.enabled", true)).get(Ingress.class, Chart.FULLNAME);

		assertThat(ingress.getSpec().getRules()).flatExtracting(rule -> rule.getHttp().getPaths())
			.allSatisfy(path -> {
				assertThat(path.getBackend().getService().getName()).isEqualTo(Chart.FULLNAME);
				assertThat(path.getBackend().getService().getPort().getName()).isEqualTo("http");
			});
	}

	@Test
	void grafanaDashboardConfigMapCarriesTheSidecarLabel() {
		Chart.Rendered chart = Chart.render(Map.of("grafanaDashboard.enabled", true));

		ConfigMap dashboard = chart.get(ConfigMap.class, Chart.FULLNAME + "-dashboard");
		assertThat(dashboard.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
		assertThat(dashboard.getData()).containsKey("keypool-gateway.json");
		assertThat(Chart.renderDefaults().find(ConfigMap.class, Chart.FULLNAME + "-dashboard")).isEmpty();
	}

	@Test
	void disruptionBudgetIsOnByDefaultOnlyWithMoreThanOneReplica() {
		assertThat(Chart.renderDefaults().all(PodDisruptionBudget.class)).isEmpty();
		assertThat(Chart.render(Map.of("replicaCount", 2, "config.keypool.state.store", "redis"))
			.get(PodDisruptionBudget.class, Chart.FULLNAME).getSpec().getMinAvailable().getIntVal()).isEqualTo(1);
		assertThat(Chart.render(Map.of("replicaCount", 2, "podDisruptionBudget.enabled", false))
			.all(PodDisruptionBudget.class)).isEmpty();
	}

	@Test
	void topologySpreadConstraintWithoutSelectorSelectsTheGatewayPods() {
		Chart.Rendered chart = Chart.render(Map.of(
				"topologySpreadConstraints[0].maxSkew", 1,
				"topologySpreadConstraints[0].topologyKey", "topology.kubernetes.io/zone",
				"topologySpreadConstraints[0].whenUnsatisfiable", "ScheduleAnyway",
				"nodeSelector.kubernetes\\.io/os", "linux",
				"tolerations[0].key", "dedicated",
				"tolerations[0].operator", "Exists"));
		var pod = chart.deployment().getSpec().getTemplate().getSpec();

		assertThat(pod.getTopologySpreadConstraints()).singleElement().satisfies(constraint ->
				assertThat(constraint.getLabelSelector().getMatchLabels())
					.isEqualTo(chart.deployment().getSpec().getSelector().getMatchLabels()));
		assertThat(pod.getNodeSelector()).containsEntry("kubernetes.io/os", "linux");
		assertThat(pod.getTolerations()).singleElement().satisfies(t -> assertThat(t.getKey()).isEqualTo("dedicated"));
	}

}
