package dev.keypool.deploy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

import static org.assertj.core.api.Assertions.assertThat;

/** The Grafana dashboard the chart ships in a ConfigMap for Grafana's sidecar. */
class GrafanaDashboardTest {

	@TempDir
	Path dir;

	@Test
	void dashboardShowsKeyStatesFailoversExhaustionsAndAttemptsPerRequest() throws Exception {
		JsonNode dashboard = dashboard();

		List<String> titles = new ArrayList<>();
		dashboard.get("panels").forEach(panel -> titles.add(panel.get("title").asText()));
		assertThat(titles).contains("Key state over time", "Failovers", "Exhaustions", "Upstream attempts per request");
		assertThat(dashboard.get("uid").asText()).isEqualTo("keypool-gateway");
	}

	@Test
	void dashboardShowsTokensByClientAndKeyAndBudgetRejections() throws Exception {
		List<String> titles = new ArrayList<>();
		dashboard().get("panels").forEach(panel -> titles.add(panel.get("title").asText()));

		assertThat(titles).contains("Tokens by client", "Tokens by key, cache read vs write", "Client budget rejections");
	}

	@Test
	void dashboardShowsConfigurationReloadsPerPod() throws Exception {
		List<String> expressions = new ArrayList<>();
		dashboard().get("panels").forEach((panel) -> {
			if (panel.get("title").asText().equals("Configuration reloads")) {
				panel.get("targets").forEach((target) -> expressions.add(target.get("expr").asText()));
			}
		});

		assertThat(expressions).singleElement().asString().contains("keypool_config_reloads_total", "pod", "outcome");
	}

	@Test
	void dashboardShowsPerModelClassCooldownsAndCapacityLeft() throws Exception {
		List<String> titles = new ArrayList<>();
		dashboard().get("panels").forEach(panel -> titles.add(panel.get("title").asText()));

		assertThat(titles).contains("Cooldown remaining by model class", "Capacity left by model class",
				"Proactive cooldowns and waits");
	}

	@Test
	void panelsQueryOnlyTheMetricNamesOfTheContract() throws Exception {
		assertThat(expressions(dashboard())).isNotEmpty().allSatisfy(expr ->
				assertThat(DesignMetrics.usedIn(expr)).isNotEmpty().isSubsetOf(DesignMetrics.NAMES));
	}

	@Test
	void everyPanelQueryIsValidPromql() throws Exception {
		// promtool parses expressions in rule files; each panel query becomes a recording rule, with
		// Grafana's variables replaced by values of the right shape.
		List<Map<String, Object>> rules = new ArrayList<>();
		int n = 0;
		for (String expr : expressions(dashboard())) {
			Map<String, Object> rule = new LinkedHashMap<>();
			rule.put("record", "keypool:dashboard_query_" + (n++));
			rule.put("expr", expr.replace("$__rate_interval", "5m")
				.replace("$namespace", "llm")
				.replace("$pool", ".*"));
			rules.add(rule);
		}
		DumperOptions options = new DumperOptions();
		options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
		Files.writeString(this.dir.resolve("dashboard-rules.yaml"),
				new Yaml(options).dump(Map.of("groups", List.of(Map.of("name", "dashboard", "rules", rules)))));

		Promtool.Result result = Promtool.run(this.dir, "check", "rules", "dashboard-rules.yaml");

		assertThat(result.exitCode()).as(result.output()).isZero();
	}

	private static JsonNode dashboard() throws Exception {
		Chart.Rendered chart = Chart.render(Map.of("grafanaDashboard.enabled", true));
		String json = chart.get(ConfigMap.class, Chart.FULLNAME + "-dashboard").getData().get("keypool-gateway.json");
		return new ObjectMapper().readTree(json);
	}

	private static List<String> expressions(JsonNode dashboard) {
		List<String> expressions = new ArrayList<>();
		dashboard.get("panels").forEach(panel -> panel.get("targets").forEach(t -> expressions.add(t.get("expr").asText())));
		return expressions;
	}

}
