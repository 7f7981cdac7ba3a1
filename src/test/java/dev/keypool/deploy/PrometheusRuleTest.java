package dev.keypool.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The PrometheusRule's alerts, checked by Prometheus' own tooling: {@code promtool check rules}
 * parses every expression and template, and {@code promtool test rules} evaluates the alerts on
 * made-up series shaped like the gateway's metrics.
 */
class PrometheusRuleTest {

	private static final String SERIES = "namespace=\"llm\",job=\"kp-keypool-gateway-management\",pool=\"anthropic\"";

	@TempDir
	Path dir;

	@Test
	void rulesPassPromtoolCheck() throws Exception {
		Files.writeString(this.dir.resolve("rules.yaml"), ruleFile(ruleGroups(), false));

		Promtool.Result result = Promtool.run(this.dir, "check", "rules", "rules.yaml");

		assertThat(result.exitCode()).as(result.output()).isZero();
		assertThat(result.output()).contains("SUCCESS: 7 rules found");
	}

	@Test
	void alertsFireOnTheSituationsTheyNameAndStayQuietOtherwise() throws Exception {
		Files.writeString(this.dir.resolve("rules.yaml"), ruleFile(ruleGroups(), true));
		Files.writeString(this.dir.resolve("tests.yaml"), """
				rule_files: [rules.yaml]
				evaluation_interval: 1m
				tests:
				  - name: a key rejected by the provider
				    interval: 1m
				    input_series:
				      - series: 'keypool_key_state{%1$s,key="primary",state="disabled"}'
				        values: '0 0 1x20'
				      - series: 'keypool_key_state{namespace="elsewhere",job="other",pool="anthropic",key="primary",state="disabled"}'
				        values: '1x20'
				    alert_rule_test:
				      - eval_time: 4m
				        alertname: KeypoolKeyDisabled
				        exp_alerts: []
				      - eval_time: 10m
				        alertname: KeypoolKeyDisabled
				        exp_alerts:
				          - exp_labels: {severity: warning, namespace: llm, pool: anthropic, key: primary}
				  - name: every key rate-limited for a while
				    interval: 1m
				    input_series:
				      - series: 'keypool_exhaustions_total{%1$s,outcome="transient"}'
				        values: '0 0 0 1 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3 3'
				    alert_rule_test:
				      - eval_time: 5m
				        alertname: KeypoolPoolExhausted
				        exp_alerts:
				          - exp_labels: {severity: critical, namespace: llm, pool: anthropic, outcome: transient}
				      - eval_time: 20m
				        alertname: KeypoolPoolExhausted
				        exp_alerts: []
				  - name: half the pooled requests fail over
				    interval: 1m
				    input_series:
				      - series: 'keypool_requests_total{%1$s,mode="pooled"}'
				        values: '0+10x40'
				      - series: 'keypool_requests_total{%1$s,mode="byok"}'
				        values: '0+100x40'
				      - series: 'keypool_failovers_total{%1$s,reason="rate_limited"}'
				        values: '0+5x40'
				    alert_rule_test:
				      - eval_time: 30m
				        alertname: KeypoolFailoverRateHigh
				        exp_alerts:
				          - exp_labels: {severity: warning, namespace: llm, pool: anthropic}
				  - name: a pod refuses a reload, then applies the fixed one
				    interval: 1m
				    input_series:
				      - series: 'keypool_config_reloads_total{%1$s,pod="kp-0",outcome="refused"}'
				        values: '0 0 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1'
				      - series: 'keypool_config_reloads_total{%1$s,pod="kp-0",outcome="applied"}'
				        values: '0+1x24'
				    alert_rule_test:
				      - eval_time: 1m
				        alertname: KeypoolConfigReloadRefused
				        exp_alerts: []
				      - eval_time: 5m
				        alertname: KeypoolConfigReloadRefused
				        exp_alerts:
				          - exp_labels: {severity: warning, namespace: llm, pod: kp-0}
				      - eval_time: 24m
				        alertname: KeypoolConfigReloadRefused
				        exp_alerts: []
				  - name: an occasional failover
				    interval: 1m
				    input_series:
				      - series: 'keypool_requests_total{%1$s,mode="pooled"}'
				        values: '0+10x40'
				      - series: 'keypool_failovers_total{%1$s,reason="rate_limited"}'
				        values: '0+1x40'
				    alert_rule_test:
				      - eval_time: 30m
				        alertname: KeypoolFailoverRateHigh
				        exp_alerts: []
				  - name: opus rate-limited on both keys, seen by two replicas; haiku and key-wide are not the alert
				    interval: 1m
				    input_series:
				      - series: 'keypool_key_state{%1$s,instance="pod-1",key="a",state="available"}'
				        values: '1x20'
				      - series: 'keypool_key_state{%1$s,instance="pod-2",key="a",state="available"}'
				        values: '1x20'
				      - series: 'keypool_key_state{%1$s,instance="pod-1",key="b",state="available"}'
				        values: '0x20'
				      - series: 'keypool_key_state{%1$s,instance="pod-2",key="b",state="available"}'
				        values: '0x20'
				      - series: 'keypool_model_cooldown_remaining_seconds{%1$s,instance="pod-1",key="a",model_class="opus"}'
				        values: '0 0 30x18'
				      - series: 'keypool_model_cooldown_remaining_seconds{%1$s,instance="pod-2",key="a",model_class="opus"}'
				        values: '0 0 30x18'
				      - series: 'keypool_model_cooldown_remaining_seconds{%1$s,instance="pod-1",key="b",model_class="opus"}'
				        values: '0 0 45x18'
				      - series: 'keypool_model_cooldown_remaining_seconds{%1$s,instance="pod-2",key="b",model_class="opus"}'
				        values: '0 0 45x18'
				      - series: 'keypool_model_cooldown_remaining_seconds{%1$s,instance="pod-1",key="a",model_class="haiku"}'
				        values: '0 0 30x18'
				      - series: 'keypool_model_cooldown_remaining_seconds{%1$s,instance="pod-1",key="b",model_class="haiku"}'
				        values: '0x20'
				      - series: 'keypool_model_cooldown_remaining_seconds{%1$s,instance="pod-1",key="a",model_class="*"}'
				        values: '0 0 60x18'
				      - series: 'keypool_model_cooldown_remaining_seconds{%1$s,instance="pod-1",key="b",model_class="*"}'
				        values: '0 0 60x18'
				    alert_rule_test:
				      - eval_time: 5m
				        alertname: KeypoolModelClassCoolingOnEveryKey
				        exp_alerts: []
				      - eval_time: 10m
				        alertname: KeypoolModelClassCoolingOnEveryKey
				        exp_alerts:
				          - exp_labels: {severity: warning, namespace: llm, pool: anthropic, model_class: opus}
				  - name: opus cooling on one key of two
				    interval: 1m
				    input_series:
				      - series: 'keypool_key_state{%1$s,key="a",state="available"}'
				        values: '0x20'
				      - series: 'keypool_key_state{%1$s,key="b",state="available"}'
				        values: '1x20'
				      - series: 'keypool_model_cooldown_remaining_seconds{%1$s,key="a",model_class="opus"}'
				        values: '30x20'
				      - series: 'keypool_model_cooldown_remaining_seconds{%1$s,key="b",model_class="opus"}'
				        values: '0x20'
				    alert_rule_test:
				      - eval_time: 15m
				        alertname: KeypoolModelClassCoolingOnEveryKey
				        exp_alerts: []
				  - name: little opus capacity left while traffic flows; figures a key never reported are ignored
				    interval: 1m
				    input_series:
				      - series: 'keypool_requests_total{%1$s,mode="pooled"}'
				        values: '0+10x30'
				      - series: 'keypool_ratelimit_remaining{%1$s,key="a",model_class="opus",resource="requests"}'
				        values: '5x30'
				      - series: 'keypool_ratelimit_limit{%1$s,key="a",model_class="opus",resource="requests"}'
				        values: '100x30'
				      - series: 'keypool_ratelimit_remaining{%1$s,key="b",model_class="opus",resource="requests"}'
				        values: '4x30'
				      - series: 'keypool_ratelimit_limit{%1$s,key="b",model_class="opus",resource="requests"}'
				        values: '100x30'
				      - series: 'keypool_ratelimit_remaining{%1$s,key="a",model_class="opus",resource="tokens"}'
				        values: 'NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN'
				      - series: 'keypool_ratelimit_limit{%1$s,key="a",model_class="opus",resource="tokens"}'
				        values: 'NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN NaN'
				      - series: 'keypool_ratelimit_remaining{%1$s,key="a",model_class="haiku",resource="requests"}'
				        values: '50x30'
				      - series: 'keypool_ratelimit_limit{%1$s,key="a",model_class="haiku",resource="requests"}'
				        values: '100x30'
				    alert_rule_test:
				      - eval_time: 20m
				        alertname: KeypoolRateLimitHeadroomLow
				        exp_alerts:
				          - exp_labels: {severity: warning, namespace: llm, pool: anthropic, model_class: opus, resource: requests}
				  - name: the same figures with no traffic are stale, not an alert
				    interval: 1m
				    input_series:
				      - series: 'keypool_requests_total{%1$s,mode="pooled"}'
				        values: '10x30'
				      - series: 'keypool_ratelimit_remaining{%1$s,key="a",model_class="opus",resource="requests"}'
				        values: '5x30'
				      - series: 'keypool_ratelimit_limit{%1$s,key="a",model_class="opus",resource="requests"}'
				        values: '100x30'
				    alert_rule_test:
				      - eval_time: 20m
				        alertname: KeypoolRateLimitHeadroomLow
				        exp_alerts: []
				  - name: half the held requests time out
				    interval: 1m
				    input_series:
				      - series: 'keypool_waits_total{%1$s,outcome="served"}'
				        values: '0+2x30'
				      - series: 'keypool_waits_total{%1$s,outcome="timed_out"}'
				        values: '0+1x30'
				      - series: 'keypool_waits_total{%1$s,outcome="rejected"}'
				        values: '0+1x30'
				      - series: 'keypool_waits_total{%1$s,outcome="cancelled"}'
				        values: '0x30'
				    alert_rule_test:
				      - eval_time: 20m
				        alertname: KeypoolWaitsFailing
				        exp_alerts:
				          - exp_labels: {severity: warning, namespace: llm, pool: anthropic}
				  - name: held requests are served, or nothing is held
				    interval: 1m
				    input_series:
				      - series: 'keypool_waits_total{%1$s,outcome="served"}'
				        values: '0+20x30'
				      - series: 'keypool_waits_total{%1$s,outcome="timed_out"}'
				        values: '0+1x30'
				      - series: 'keypool_waits_total{namespace="llm",job="kp-keypool-gateway-management",pool="idle",outcome="timed_out"}'
				        values: '0x30'
				      - series: 'keypool_waits_total{namespace="llm",job="kp-keypool-gateway-management",pool="idle",outcome="served"}'
				        values: '0x30'
				    alert_rule_test:
				      - eval_time: 20m
				        alertname: KeypoolWaitsFailing
				        exp_alerts: []
				""".formatted(SERIES));

		Promtool.Result result = Promtool.run(this.dir, "test", "rules", "tests.yaml");

		assertThat(result.exitCode()).as(result.output()).isZero();
	}

	@Test
	void alertsUseOnlyTheMetricNamesOfTheContract() {
		List<String> expressions = new ArrayList<>();
		for (Map<String, Object> group : ruleGroups()) {
			for (Map<String, Object> rule : Chart.<List<Map<String, Object>>>at(group, "rules")) {
				expressions.add((String) rule.get("expr"));
			}
		}

		assertThat(expressions).hasSize(7).allSatisfy(expr ->
				assertThat(DesignMetrics.usedIn(expr)).isNotEmpty().isSubsetOf(DesignMetrics.NAMES));
	}

	private static List<Map<String, Object>> ruleGroups() {
		Chart.Rendered chart = Chart.render(Map.of("prometheusRule.enabled", true));
		GenericKubernetesResource rule = chart.custom("PrometheusRule").get(0);
		return Chart.at(rule.getAdditionalProperties(), "spec", "groups");
	}

	/**
	 * A Prometheus rule file. For unit tests the annotations are left out: promtool compares them
	 * verbatim, and their wording is not what those tests are about (check rules covers their syntax).
	 */
	private static String ruleFile(List<Map<String, Object>> groups, boolean withoutAnnotations) throws IOException {
		List<Map<String, Object>> copy = new ArrayList<>();
		for (Map<String, Object> group : groups) {
			Map<String, Object> g = new LinkedHashMap<>(group);
			List<Map<String, Object>> rules = new ArrayList<>();
			for (Map<String, Object> rule : Chart.<List<Map<String, Object>>>at(group, "rules")) {
				Map<String, Object> r = new LinkedHashMap<>(rule);
				if (withoutAnnotations) {
					r.remove("annotations");
				}
				rules.add(r);
			}
			g.put("rules", rules);
			copy.add(g);
		}
		DumperOptions options = new DumperOptions();
		options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
		return new Yaml(options).dump(Map.of("groups", copy));
	}

}
