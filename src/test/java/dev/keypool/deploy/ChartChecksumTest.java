package dev.keypool.deploy;

import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The pod template's checksum annotation rolls the pods exactly when their configuration changes. */
class ChartChecksumTest {

	@Test
	void changingTheConfigChangesTheConfigChecksum() {
		String before = checksum(Chart.renderDefaults());
		String after = checksum(Chart.render(Map.of("config.keypool.pools.anthropic.default-cooldown", "30s")));

		assertThat(after).isNotEqualTo(before);
	}

	@Test
	void changingSomethingElseKeepsTheConfigChecksum() {
		String before = checksum(Chart.renderDefaults());
		String after = checksum(Chart.render(Map.of("resources.limits.memory", "1Gi")));

		assertThat(after).isEqualTo(before);
	}

	private static String checksum(Chart.Rendered chart) {
		return chart.deployment().getSpec().getTemplate().getMetadata().getAnnotations().get("checksum/config");
	}

}
