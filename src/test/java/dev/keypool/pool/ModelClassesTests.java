package dev.keypool.pool;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

class ModelClassesTests {

	@ParameterizedTest
	@CsvSource(nullValues = "null", value = { "claude-opus-4-7, opus", "claude-3-5-haiku-20241022, haiku",
			"claude-sonnet-4-5-20250929, sonnet", "Claude-Opus-4-1, opus", "claude-3-5, claude-3-5",
			"gpt-4o, gpt-4o", "claude-, claude-", "claude, claude", "claude--3-opus, opus", "claude-opus, opus",
			"claude-4-7-, claude-4-7-", "' claude-haiku-4 ', haiku", "'', null", "'  ', null", "null, null" })
	void classIsTheFirstLettersOnlyWordAfterClaude(String model, String expected) {
		assertThat(ModelClasses.classOf(model)).isEqualTo(expected);
	}

	@Test
	void noModelMeansTheKeyWideScope() {
		assertThat(new ModelClasses().resolve(null)).isEqualTo(ModelClasses.KEY_WIDE);
	}

	@Test
	void aFloodOfRandomModelsStaysWithinSixteenNamedClassesAndOther() {
		ModelClasses classes = new ModelClasses();
		Set<String> seen = new HashSet<>();
		for (int i = 0; i < 10_000; i++) {
			seen.add(classes.resolve("random-model-" + i));
		}

		assertThat(classes.named()).hasSize(ModelClasses.MAX_NAMED).contains("opus", "sonnet", "haiku");
		assertThat(seen).hasSize(ModelClasses.MAX_NAMED - 3 + 1).contains(ModelClasses.OTHER);
		assertThat(classes.resolve("claude-opus-4-7")).as("known families keep their names").isEqualTo("opus");
	}

	@ParameterizedTest
	@CsvSource(delimiter = '|', nullValues = "null", value = {
			"{\"model\":\"claude-opus-4-7\",\"max_tokens\":10}|claude-opus-4-7",
			"  {\t \"max_tokens\": 10, \"model\" : \"claude-3-5-haiku-20241022\"}|claude-3-5-haiku-20241022",
			"{\"metadata\":{\"model\":\"inner\"},\"model\":\"outer\"}|outer",
			"{\"messages\":[{\"content\":\"say \\\"model\\\": x\"}],\"model\":\"m\"}|m",
			"{\"messages\":[{\"model\":\"nested\"}]}|null", "{\"model\":42}|null", "not json|null", "[1,2]|null",
			"{\"model\":\"unterminated|null", "''|null" })
	void modelIsFoundAtTheTopLevelOnly(String body, String expected) {
		byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
		assertThat(ModelField.find((i) -> bytes[i], bytes.length)).isEqualTo(expected);
	}

	@Test
	void scanStopsAtItsLimitOnALargeBody() {
		StringBuilder body = new StringBuilder("{\"messages\":\"");
		body.append("x".repeat(ModelField.SCAN_LIMIT));
		body.append("\",\"model\":\"claude-opus-4-7\"}");
		byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
		int[] highest = { 0 };

		String model = ModelField.find((i) -> {
			highest[0] = Math.max(highest[0], i);
			return bytes[i];
		}, bytes.length);

		assertThat(model).isNull();
		assertThat(highest[0]).isLessThan(ModelField.SCAN_LIMIT);
	}

}
