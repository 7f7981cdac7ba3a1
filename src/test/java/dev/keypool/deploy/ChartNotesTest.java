package dev.keypool.deploy;

import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** NOTES.txt, shown after install and upgrade. */
class ChartNotesTest {

	@Test
	void notesSayHowToPointClaudeCodeAtTheRelease() {
		String notes = Chart.notes(Map.of());

		assertThat(notes).contains("export ANTHROPIC_BASE_URL=", "export ANTHROPIC_AUTH_TOKEN=",
				"svc/" + Chart.FULLNAME + " ");
	}

	@Test
	void notesReadTheClientTokenFromTheChartsOwnSecret() {
		assertThat(Chart.notes(Map.of())).contains("get secret " + Chart.FULLNAME
				+ " -o jsonpath='{.data.KEYPOOL_CLIENT_TOKEN}' | base64 -d)");
	}

	@Test
	void notesReadTheClientTokenUnderTheNameTheConfigUsesFromAnExistingSecret() {
		String notes = Chart.notes(Map.of("secrets.existingSecret", "team-secrets", "config.keypool.clients[0].id",
				"team-a", "config.keypool.clients[0].token", "${TEAM_A_TOKEN}"));

		assertThat(notes).contains("get secret team-secrets -o jsonpath='{.data.TEAM_A_TOKEN}' | base64 -d)",
				"client \"team-a\" (${TEAM_A_TOKEN}, key TEAM_A_TOKEN of Secret team-secrets)")
			.doesNotContain("KEYPOOL_CLIENT_TOKEN");
	}

	@Test
	void notesDoNotGuessASecretKeyWhenTheTokenIsNotAPlaceholder() {
		String notes = Chart.notes(Map.of("secrets.existingSecret", "team-secrets", "config.keypool.clients[0].id",
				"team-a", "config.keypool.clients[0].token", "literal-token"));

		assertThat(notes).contains("export ANTHROPIC_AUTH_TOKEN=<the token of a client in config.keypool.clients>")
			.doesNotContain("jsonpath");
	}

	@Test
	void notesWarnThatKeyStateIsPerPodWithSeveralReplicasAndTheMemoryStore() {
		assertThat(Chart.notes(Map.of("replicaCount", 3))).contains("WARNING", "each pod keeps its", "store=redis");
	}

	@Test
	void notesDoNotWarnAboutPerPodStateWithTheRedisStore() {
		assertThat(Chart.notes(Map.of("replicaCount", 3, "config.keypool.state.store", "redis")))
			.doesNotContain("each pod keeps its");
	}

	@Test
	void notesWarnAboutRequiredSecretsLeftEmpty() {
		assertThat(Chart.notes(Map.of())).contains("ANTHROPIC_KEY_PRIMARY");
		assertThat(Chart.notes(Map.of(
				"secrets.env.ANTHROPIC_KEY_PRIMARY", "sk-ant-x",
				"secrets.env.KEYPOOL_CLIENT_TOKEN", "client-x"))).doesNotContain("secrets.env has no value");
	}

}
