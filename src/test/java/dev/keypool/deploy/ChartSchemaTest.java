package dev.keypool.deploy;

import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** values.schema.json turns a mistyped value into an install-time error. */
class ChartSchemaTest {

	@ParameterizedTest(name = "{0}={1} is rejected")
	@CsvSource({
		"replicaCount, two",
		"replicas, 2",
		"image.pullPolicy, Sometimes",
		"config.keypool.state.store, postgres",
		"serviceMonitor.enabled, yes",
		"serviceMonitor.interval, 30",
		"secrets.env.ANTHROPIC_KEY_PRIMARY, 12345",
		"ports.management, 70000",
		"podDisruptionBudget.enabled, sometimes",
	})
	void schemaRejectsAWrongValue(String key, String value) {
		assertThatThrownBy(() -> Chart.render(Map.of(key, value)))
			.hasMessageContaining(key.substring(key.lastIndexOf('.') + 1));
	}

}
