package dev.keypool.tracing;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

class TracingAttributesTests {

	@ParameterizedTest
	@ValueSource(strings = { "claude-opus-4-7", "claude-3-5-haiku-20241022", "anthropic.claude-opus-4-7-v1:0",
			"claude-opus-4-7@20260101", "publishers/anthropic/models/claude-sonnet-4-6" })
	void aModelIdIsReportedAsItCame(String model) {
		assertThat(TracingAttributes.boundedModel(model)).isEqualTo(model);
	}

	@ParameterizedTest
	@NullAndEmptySource
	@ValueSource(strings = { "please summarise the attached contract", "claude\nopus", "{\"x\":1}",
			"claude-opus-4-7-with-a-suffix-long-enough-to-exceed-sixty-four-chars" })
	void anythingThatIsNotAPlausibleModelIdIsNotReported(String model) {
		assertThat(TracingAttributes.boundedModel(model)).isNull();
	}

	@ParameterizedTest
	@CsvSource({ "anthropic, anthropic", "bedrock, aws.bedrock", "vertex, gcp.vertex_ai", "acme, acme" })
	void providersUseTheConventionsWellKnownNames(String provider, String genAiName) {
		assertThat(TracingAttributes.genAiProviderName(provider)).isEqualTo(genAiName);
	}

}
