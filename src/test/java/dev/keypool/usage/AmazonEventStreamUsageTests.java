package dev.keypool.usage;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import software.amazon.eventstream.HeaderValue;
import software.amazon.eventstream.Message;

import dev.keypool.support.FakeBedrock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

class AmazonEventStreamUsageTests {

	static final String START = "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"claude-opus-4-7\","
			+ "\"content\":[],\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":100,"
			+ "\"cache_read_input_tokens\":2000,\"output_tokens\":1}}}";

	static final String TEXT = "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
			+ "\"text\":\"the \\\"usage\\\": {\\\"input_tokens\\\": 999}\"}}";

	static final String DELTA = "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
			+ "\"usage\":{\"output_tokens\":15}}";

	/** The last chunk repeats the counts in its invocation metrics: read once, not twice. */
	static final String STOP = "{\"type\":\"message_stop\",\"amazon-bedrock-invocationMetrics\":"
			+ "{\"inputTokenCount\":25,\"outputTokenCount\":15,\"invocationLatency\":5,\"firstByteLatency\":2}}";

	static final byte[] INVOKE_STREAM = concat(List.of(FakeBedrock.chunk(START), FakeBedrock.chunk(TEXT),
			FakeBedrock.chunk(DELTA), FakeBedrock.chunk(STOP)));

	static final byte[] CONVERSE_STREAM = concat(List.of(FakeBedrock.event("messageStart", "{\"role\":\"assistant\"}"),
			FakeBedrock.event("contentBlockDelta",
					"{\"contentBlockIndex\":0,\"delta\":{\"text\":\"hi\"},\"usage\":{\"inputTokens\":999}}"),
			FakeBedrock.event("metadata", "{\"usage\":{\"inputTokens\":30,\"outputTokens\":40,\"totalTokens\":4070,"
					+ "\"cacheReadInputTokens\":4000,\"cacheWriteInputTokens\":0},\"metrics\":{\"latencyMs\":5}}")));

	@Test
	void invokeModelChunksCountTheAnthropicEventsAtEveryChunkBoundary() {
		for (int split = 0; split <= INVOKE_STREAM.length; split++) {
			UsageScanner scanner = feed(INVOKE_STREAM, split);
			assertThat(scanner.usage()).as("split at %d", split).isEqualTo(new TokenUsage(25, 15, 2000, 100));
			assertThat(scanner.model()).isEqualTo("claude-opus-4-7");
		}
	}

	@Test
	void converseStreamCountsTheMetadataUsageAtEveryChunkBoundary() {
		for (int split = 0; split <= CONVERSE_STREAM.length; split++) {
			UsageScanner scanner = feed(CONVERSE_STREAM, split);
			assertThat(scanner.usage()).as("split at %d", split).isEqualTo(new TokenUsage(30, 40, 4000, 0));
		}
	}

	@Test
	void oneByteAtATimeReadsTheSame() {
		UsageScanner scanner = UsageScanner.forEventStream();
		AmazonEventStreamUsage usage = new AmazonEventStreamUsage(scanner);
		for (byte value : INVOKE_STREAM) {
			usage.feed(ByteBuffer.wrap(new byte[] { value }));
		}
		assertThat(scanner.usage()).isEqualTo(new TokenUsage(25, 15, 2000, 100));
	}

	@Test
	void aStreamCutMidMessageCountsTheWholeMessagesBeforeIt() {
		byte[] start = FakeBedrock.chunk(START);
		byte[] cut = concat(List.of(start, Arrays.copyOf(FakeBedrock.chunk(DELTA), 40)));

		UsageScanner scanner = feed(cut, start.length + 7);

		assertThat(scanner.usage()).isEqualTo(new TokenUsage(25, 1, 2000, 100));
	}

	@Test
	void exceptionsAndOtherEventsCountNothing() {
		byte[] bytes = concat(List.of(FakeBedrock.event("messageStop", "{\"usage\":{\"inputTokens\":5}}"),
				exception("{\"message\":\"usage\",\"usage\":{\"inputTokens\":5}}")));

		UsageScanner scanner = feed(bytes, 3);

		assertThat(scanner.found()).isFalse();
	}

	@Test
	void aPreludeWhoseChecksumFailsStopsTheReading() {
		byte[] broken = FakeBedrock.chunk(START);
		broken[9] ^= 1;
		AmazonEventStreamUsage usage = new AmazonEventStreamUsage(UsageScanner.forEventStream());

		assertThatIllegalStateException().isThrownBy(() -> usage.feed(ByteBuffer.wrap(broken)));
	}

	@Test
	void aMessageOverTheLimitIsSkippedAndTheNextIsRead() {
		String big = "{\"type\":\"content_block_delta\",\"delta\":{\"text\":\""
				+ "x".repeat(AmazonEventStreamUsage.MAX_MESSAGE_BYTES) + "\"}}";
		byte[] bytes = concat(List.of(FakeBedrock.chunk(big), FakeBedrock.chunk(START)));

		UsageScanner scanner = feed(bytes, 100);

		assertThat(scanner.usage()).isEqualTo(new TokenUsage(25, 1, 2000, 100));
	}

	private static UsageScanner feed(byte[] bytes, int split) {
		UsageScanner scanner = UsageScanner.forEventStream();
		AmazonEventStreamUsage usage = new AmazonEventStreamUsage(scanner);
		usage.feed(ByteBuffer.wrap(bytes, 0, split));
		usage.feed(ByteBuffer.wrap(bytes, split, bytes.length - split));
		return scanner;
	}

	private static byte[] exception(String payload) {
		Map<String, HeaderValue> headers = new LinkedHashMap<>();
		headers.put(":exception-type", HeaderValue.fromString("throttlingException"));
		headers.put(":message-type", HeaderValue.fromString("exception"));
		ByteBuffer encoded = new Message(headers,
				payload.getBytes(StandardCharsets.UTF_8))
			.toByteBuffer();
		byte[] bytes = new byte[encoded.remaining()];
		encoded.get(bytes);
		return bytes;
	}

	private static byte[] concat(List<byte[]> parts) {
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		parts.forEach(out::writeBytes);
		return out.toByteArray();
	}

}
