package dev.keypool.deploy;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Secret;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Where the provider keys, client tokens and admin token come from. */
class ChartSecretsTest {

	@Test
	void existingSecretReplacesTheChartsSecretAsThePodsEnvironment() {
		Chart.Rendered chart = Chart.render(Map.of("secrets.existingSecret", "team-keys"));
		Container gateway = chart.gatewayContainer();

		assertThat(chart.all(Secret.class)).isEmpty();
		assertThat(gateway.getEnvFrom()).anySatisfy(from -> assertThat(from.getSecretRef().getName()).isEqualTo("team-keys"));
		assertThat(chart.deployment().getSpec().getTemplate().getMetadata().getAnnotations())
			.doesNotContainKey("checksum/secret");
	}

	@Test
	void valuesGiveTheChartsSecretItsData() {
		Chart.Rendered chart = Chart.render(Map.of("secrets.env.ANTHROPIC_KEY_PRIMARY", "sk-ant-test-0001"));

		Secret secret = chart.get(Secret.class, Chart.FULLNAME);
		String decoded = new String(Base64.getDecoder().decode(secret.getData().get("ANTHROPIC_KEY_PRIMARY")),
				StandardCharsets.UTF_8);
		assertThat(decoded).isEqualTo("sk-ant-test-0001");
		assertThat(chart.applicationYaml()).doesNotContain("sk-ant-test-0001");
	}

	@Test
	void aPlaceholderWithNoMatchingSecretEntryFailsTheRender() {
		assertThatThrownBy(() -> Chart.render(Map.of(
				"config.keypool.pools.anthropic.keys[0].id", "primary",
				"config.keypool.pools.anthropic.keys[0].secret", "${ANTHROPIC_KEY_TYPO}")))
			.hasMessageContaining("ANTHROPIC_KEY_TYPO");
	}

	@Test
	void aPlaceholderProvidedThroughExtraEnvIsAccepted() {
		Chart.Rendered chart = Chart.render(Map.of(
				"config.keypool.pools.anthropic.keys[0].id", "primary",
				"config.keypool.pools.anthropic.keys[0].secret", "${FROM_VAULT}",
				"extraEnv[0].name", "FROM_VAULT",
				"extraEnv[0].valueFrom.secretKeyRef.name", "vault-synced",
				"extraEnv[0].valueFrom.secretKeyRef.key", "anthropic"));

		assertThat(chart.gatewayContainer().getEnv()).anySatisfy(env -> assertThat(env.getName()).isEqualTo("FROM_VAULT"));
	}

}
