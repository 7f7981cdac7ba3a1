package dev.keypool.pool;

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

	@ParameterizedTest
	@CsvSource(value = { "claude-opus-4-7, opus", "claude-3-5-haiku-20241022, haiku", "claude-sonnet-4-6, sonnet",
			"claude-opus-4-7-v1:0, opus", "claude-3-5-haiku, haiku", "claude-nova-1, other", "gpt-4o, other",
			"claude-3-5, other", "'', other", "'  ', other" })
	void knownFamiliesHaveTheirClassAndEveryOtherModelSharesOther(String model, String expected) {
		assertThat(new ModelClasses().resolve(model)).isEqualTo(expected);
	}

	@ParameterizedTest
	@CsvSource(value = { "claude-nova-1, nova", "claude-nova-2-20270101, nova", "gpt-4o, gpt-4o",
			"claude-3-5, claude-3-5", "claude-opus-4-7, opus", "'', other" })
	void aModelTheProviderServedEarnsItsClassName(String model, String expected) {
		ModelClasses classes = new ModelClasses();

		classes.claim(model);

		assertThat(classes.resolve(model)).isEqualTo(expected);
	}

	@ParameterizedTest
	@CsvSource(value = { "'evil\r\n\u001b[31m'", "'two words'", "'x,y'", "other", "'\u2028'" })
	void aClassThatDoesNotReadAsAModelIdNeverTakesAName(String model) {
		ModelClasses classes = new ModelClasses();

		assertThat(classes.claim(model)).isEqualTo(ModelClasses.OTHER);
		assertThat(classes.named()).containsExactlyInAnyOrder("opus", "sonnet", "haiku");
	}

	@Test
	void aClassTooLongToBeAModelIdNeverTakesAName() {
		assertThat(new ModelClasses().claim("x".repeat(65))).isEqualTo(ModelClasses.OTHER);
	}

	@Test
	void modelIdsNoRequestWasServedForTakeNoName() {
		ModelClasses classes = new ModelClasses();
		for (int i = 0; i < 10_000; i++) {
			assertThat(classes.resolve("claude-garbage" + i + "-x-1")).isEqualTo(ModelClasses.OTHER);
		}

		assertThat(classes.named()).containsExactlyInAnyOrder("opus", "sonnet", "haiku");
		classes.claim("claude-nova-1");
		assertThat(classes.resolve("claude-nova-1")).isEqualTo("nova");
	}

	@Test
	void servedModelsStayWithinSixteenNamedClassesAndOther() {
		ModelClasses classes = new ModelClasses();
		Set<String> seen = new HashSet<>();
		for (int i = 0; i < 10_000; i++) {
			seen.add(classes.claim("random-model-" + i));
		}

		assertThat(classes.named()).hasSize(ModelClasses.MAX_NAMED).contains("opus", "sonnet", "haiku");
		assertThat(seen).hasSize(ModelClasses.MAX_NAMED - 3 + 1).contains(ModelClasses.OTHER);
		assertThat(classes.resolve("claude-opus-4-7")).as("known families keep their names").isEqualTo("opus");
	}

}
