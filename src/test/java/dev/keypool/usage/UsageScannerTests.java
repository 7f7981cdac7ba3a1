package dev.keypool.usage;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

class UsageScannerTests {

	static final String MESSAGE = """
			{"id":"msg_1","type":"message","role":"assistant","model":"claude-opus-4-7",
			 "content":[{"type":"text","text":"the \\"usage\\": {\\"input_tokens\\": 999} is quoted"},
			            {"type":"tool_use","id":"t","name":"n","input":{"usage":{"input_tokens":777}}}],
			 "stop_reason":"end_turn",
			 "usage":{"input_tokens":12,"cache_creation_input_tokens":300,"cache_read_input_tokens":4000,
			          "cache_creation":{"ephemeral_5m_input_tokens":300,"ephemeral_1h_input_tokens":0},
			          "output_tokens":56,"service_tier":"standard","server_tool_use":{"web_search_requests":0}}}
			""";

	static final String STREAM = """
			event: message_start
			data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":1}}}

			event: ping
			data: {"type": "ping"}

			event: content_block_start
			data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

			event: content_block_delta
			data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"usage\\": {\\"output_tokens\\": 5"}}

			event: message_delta
			data: {"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":7}}

			event: message_delta
			data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}

			event: message_stop
			data: {"type":"message_stop"}

			""";

	/** Two succeeded results (one with a tool input that names usage), one errored, one cut line. */
	static final String BATCH_RESULTS = """
			{"custom_id":"a","result":{"type":"succeeded","message":{"id":"m1","model":"claude-haiku-4-5","content":[{"type":"tool_use","input":{"usage":{"input_tokens":999}}}],"usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":100,"output_tokens":20}}}}
			{"custom_id":"b","result":{"type":"errored","error":{"type":"invalid_request","usage":{"input_tokens":888}}}}
			{"custom_id":"c","result":{"type":"succeeded","message":{"id":"m2","model":"claude-haiku-4-5","usage":{"input_tokens":30,"output_tokens":40}}}}
			{"custom_id":"d","result":{"type":"succeeded","message":{"usage":{"input_tokens":7
			{"custom_id":"e","usage":{"input_tokens":666}}
			""";

	@Test
	void batchResultsSumTheUsageOfEveryResultMessage() {
		UsageScanner scanner = scanWhole(UsageScanner.forBatchResults(), BATCH_RESULTS);

		assertThat(scanner.usage()).isEqualTo(new TokenUsage(40, 60, 100, 5));
		assertThat(scanner.model()).isEqualTo("claude-haiku-4-5");
	}

	@Test
	void aStreamWithoutItsMessageDeltaHasNoFinalUsage() {
		String cut = STREAM.substring(0, STREAM.indexOf("event: message_delta"));

		assertThat(scanWhole(UsageScanner.forEventStream(), cut).finalUsage()).isFalse();
		assertThat(scanWhole(UsageScanner.forEventStream(), STREAM).finalUsage()).isTrue();
	}

	@Test
	void aJsonBodyCountsItsTopLevelUsageOnly() {
		UsageScanner scanner = scanWhole(UsageScanner.forJson(), MESSAGE);

		assertThat(scanner.usage()).isEqualTo(new TokenUsage(12, 56, 4000, 300));
		assertThat(scanner.model()).isEqualTo("claude-opus-4-7");
	}

	@Test
	void aBedrockConverseBodyCountsItsCamelCaseUsageWithoutTheTotal() {
		UsageScanner scanner = scanWhole(UsageScanner.forJson(), "{\"output\":{\"message\":{\"role\":\"assistant\","
				+ "\"content\":[{\"text\":\"hi\"}]}},\"stopReason\":\"end_turn\",\"usage\":{\"inputTokens\":30,"
				+ "\"outputTokens\":40,\"totalTokens\":4370,\"cacheReadInputTokens\":4000,\"cacheWriteInputTokens\":300},"
				+ "\"metrics\":{\"latencyMs\":5}}");

		assertThat(scanner.usage()).isEqualTo(new TokenUsage(30, 40, 4000, 300));
	}

	@Test
	void aStreamCountsMessageStartAndTheLastMessageDelta() {
		UsageScanner scanner = scanWhole(UsageScanner.forEventStream(), STREAM);

		assertThat(scanner.usage()).isEqualTo(new TokenUsage(25, 15, 2000, 100));
		assertThat(scanner.model()).isEqualTo("claude-sonnet-4-5");
	}

	@Test
	void everySplitOfAJsonBodyIntoTwoChunksReadsTheSameUsage() {
		byte[] bytes = MESSAGE.getBytes(StandardCharsets.UTF_8);
		for (int split = 0; split <= bytes.length; split++) {
			UsageScanner scanner = UsageScanner.forJson();
			scanner.scan(ByteBuffer.wrap(bytes, 0, split));
			scanner.scan(ByteBuffer.wrap(bytes, split, bytes.length - split));
			assertThat(scanner.usage()).as("split at %d", split).isEqualTo(new TokenUsage(12, 56, 4000, 300));
		}
	}

	@Test
	void aStreamFedOneByteAtATimeReadsTheSameUsage() {
		UsageScanner scanner = UsageScanner.forEventStream();
		for (byte b : STREAM.replace("\n", "\r\n").getBytes(StandardCharsets.UTF_8)) {
			scanner.next(b);
		}

		assertThat(scanner.usage()).isEqualTo(new TokenUsage(25, 15, 2000, 100));
	}

	@Test
	void aStreamCutBeforeItsMessageDeltaKeepsWhatArrived() {
		String cut = STREAM.substring(0, STREAM.indexOf("event: message_delta")) + "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9";

		UsageScanner scanner = scanWhole(UsageScanner.forEventStream(), cut);

		assertThat(scanner.usage()).isEqualTo(new TokenUsage(25, 1, 2000, 100));
	}

	@ParameterizedTest
	@CsvSource(delimiter = '|', value = { "{\"type\":\"message\",\"id\":\"msg_default\"}",
			"{\"input_tokens\":120}", "not json at all, usage: 5", "[{\"usage\":{\"input_tokens\":3}}]",
			"{\"usage\":null,\"output_tokens\":4}", "{\"usage\":{\"input_tokens\":\"12\"}", "''" })
	void aBodyWithoutAUsageObjectCountsNothing(String body) {
		UsageScanner scanner = scanWhole(UsageScanner.forJson(), (body != null) ? body : "");

		assertThat(scanner.found()).isFalse();
		assertThat(scanner.usage()).isEqualTo(TokenUsage.NONE);
	}

	@Test
	void longStringsWithEscapedQuotesSplitAnywhereAreSkippedWithoutLosingTheUsage() {
		String text = "a \\\"quoted\\\" usage: {\\\"input_tokens\\\": 1} ".repeat(400);
		byte[] bytes = ("{\"content\":[{\"text\":\"" + text + "\"}],\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}")
			.getBytes(StandardCharsets.UTF_8);
		for (int chunk : new int[] { 1, 7, 64, 65, 1000 }) {
			UsageScanner scanner = UsageScanner.forJson();
			for (int offset = 0; offset < bytes.length; offset += chunk) {
				scanner.scan(ByteBuffer.wrap(bytes, offset, Math.min(chunk, bytes.length - offset)));
			}
			assertThat(scanner.usage()).as("chunks of %d", chunk).isEqualTo(new TokenUsage(3, 4, 0, 0));
		}
	}

	@Test
	void aHugeOrNegativeNumberNeitherOverflowsNorCounts() {
		UsageScanner scanner = scanWhole(UsageScanner.forJson(),
				"{\"usage\":{\"input_tokens\":-5,\"output_tokens\":99999999999999999999999999}}");

		assertThat(scanner.usage().input()).isZero();
		assertThat(scanner.usage().output()).isPositive();
	}

	@Test
	void aLongModelIsKeptToABoundedLength() {
		UsageScanner scanner = scanWhole(UsageScanner.forJson(), "{\"model\":\"" + "x".repeat(10_000) + "\"}");

		assertThat(scanner.model()).hasSize(UsageScanner.MAX_CAPTURE);
	}

	private static UsageScanner scanWhole(UsageScanner scanner, String text) {
		scanner.scan(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
		return scanner;
	}

}
