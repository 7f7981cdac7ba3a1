package dev.keypool.pool;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class CallerTextTests {

	@Test
	void controlAndFormatCharactersAreReplaced() {
		String[][] table = { { "claude-opus-4-7", "claude-opus-4-7" }, { "a\rb\nc", "a_b_c" },
				{ "x\u001b[31m", "x_[31m" }, { "tab\there", "tab_here" }, { "del\u007fc1\u0085", "del_c1_" },
				{ "line\u2028para\u2029", "line_para_" }, { "bidi\u202eabc\u200b", "bidi_abc_" },
				{ "bom\ufeff", "bom_" }, { "caf\u00e9 \u4e2d", "caf\u00e9 \u4e2d" } };
		for (String[] row : table) {
			assertThat(CallerText.clean(row[0], 100)).as(row[1]).isEqualTo(row[1]);
		}
	}

	@Test
	void textIsCutWithoutSplittingASurrogatePair() {
		assertThat(CallerText.clean("ab\ud83d\ude00", 3)).isEqualTo("ab");
		assertThat(CallerText.model("m".repeat(1000))).hasSize(CallerText.MAX_MODEL_LENGTH);
	}

	@Test
	void aSessionIdTooLongToKeepIsIgnoredNotCut() {
		assertThat(CallerText.sessionId("s".repeat(CallerText.MAX_SESSION_ID_LENGTH))).hasSize(256);
		assertThat(CallerText.sessionId("s".repeat(CallerText.MAX_SESSION_ID_LENGTH + 1))).isNull();
		assertThat(CallerText.sessionId("  ")).isNull();
		assertThat(CallerText.sessionId(null)).isNull();
		assertThat(CallerText.sessionId("s-1\u001b")).isEqualTo("s-1_");
	}

}
