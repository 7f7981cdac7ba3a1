package dev.keypool.deploy;

import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** Series names from docs/contract.md (after Micrometer's naming conversion) that alerts and the dashboard may use. */
final class DesignMetrics {

	static final Set<String> NAMES = Set.of("keypool_key_state", "keypool_key_cooldown_remaining_seconds",
			"keypool_upstream_attempts_total", "keypool_failovers_total", "keypool_exhaustions_total",
			"keypool_requests_total", "keypool_model_cooldown_remaining_seconds", "keypool_ratelimit_remaining",
			"keypool_ratelimit_limit", "keypool_proactive_cooldowns_total", "keypool_waits_total",
			"keypool_tokens_total", "keypool_client_budget_rejections_total", "keypool_config_reloads_total");

	private static final Pattern METRIC = Pattern.compile("\\bkeypool_[a-z_]+");

	private DesignMetrics() {
	}

	/** keypool_* names used in a PromQL expression. */
	static Set<String> usedIn(String promql) {
		return METRIC.matcher(promql).results().map(m -> m.group()).collect(Collectors.toSet());
	}

}
