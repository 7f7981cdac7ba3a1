package dev.keypool.deploy;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Where the provider keys, client tokens and admin token come from. */
class ChartSecretsTest {

	@Test
	void existingSecretReplacesTheChartsSecretAsTheMountedConfigTree() {
		Chart.Rendered chart = Chart.render(Map.of("secrets.existingSecret", "team-keys"));

		assertThat(chart.all(Secret.class)).isEmpty();
		assertThat(secretsVolume(chart).getSecret().getSecretName()).isEqualTo("team-keys");
	}

	/**
	 * kubelet updates a mounted Secret in place (never a subPath mount), Spring reads the
	 * directory as a config tree, and no environment variable shadows it: so a rotated Secret
	 * reaches the running pods, which reload it.
	 */
	@Test
	void theSecretIsMountedAsAConfigTreeAndNotAsEnvironmentVariables() {
		Chart.Rendered chart = Chart.renderDefaults();
		Container gateway = chart.gatewayContainer();

		VolumeMount mount = gateway.getVolumeMounts()
			.stream()
			.filter((candidate) -> candidate.getName().equals(secretsVolume(chart).getName()))
			.findFirst()
			.orElseThrow();
		assertThat(mount.getMountPath()).isEqualTo("/etc/keypool/secrets");
		assertThat(mount.getSubPath()).isNull();
		assertThat(mount.getReadOnly()).isTrue();
		assertThat(secretsVolume(chart).getSecret().getSecretName()).isEqualTo(Chart.FULLNAME);
		assertThat(gateway.getEnv()).anySatisfy(env -> {
			assertThat(env.getName()).isEqualTo("SPRING_CONFIG_IMPORT");
			assertThat(env.getValue()).isEqualTo("optional:configtree:/etc/keypool/secrets/");
		});
		assertThat(gateway.getEnvFrom()).isEmpty();
	}

	@Test
	void aChangedSecretDoesNotRollThePods() {
		String before = podTemplate(Chart.renderDefaults());
		String after = podTemplate(Chart.render(Map.of("secrets.env.ANTHROPIC_KEY_PRIMARY", "sk-ant-rotated-0002")));

		assertThat(after).isEqualTo(before);
	}

	@Test
	void withoutRollOnConfigChangeAChangedConfigDoesNotRollThePodsEither() {
		String before = podTemplate(Chart.render(Map.of("rollOnConfigChange", false)));
		String after = podTemplate(Chart.render(
				Map.of("rollOnConfigChange", false, "config.keypool.pools.anthropic.default-cooldown", "30s")));

		assertThat(after).isEqualTo(before);
	}

	private static String podTemplate(Chart.Rendered chart) {
		return String.valueOf(chart.deployment().getSpec().getTemplate());
	}

	private static Volume secretsVolume(Chart.Rendered chart) {
		return chart.deployment()
			.getSpec()
			.getTemplate()
			.getSpec()
			.getVolumes()
			.stream()
			.filter((volume) -> volume.getSecret() != null)
			.findFirst()
			.orElseThrow();
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
