package dev.keypool.usage;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;

/**
 * What token accounting costs per response: the response's chunks (16 KB, as Netty reads
 * them) through the same {@link ResponseMeter} the relay uses, for a short and a long JSON
 * message, a 300-event stream, and the long message gzip-encoded (inflated on the side).
 * Divide by the response size for the cost per byte; run with {@code -prof gc} for allocation.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class UsageScannerBenchmark {

	private static final int CHUNK = 16 * 1024;

	private List<ByteBuf> shortJson;

	private List<ByteBuf> longJson;

	private List<ByteBuf> stream;

	private List<ByteBuf> longJsonGzip;

	private final HttpHeaders json = headers(MediaType.APPLICATION_JSON, null);

	private final HttpHeaders eventStream = headers(MediaType.TEXT_EVENT_STREAM, null);

	private final HttpHeaders gzipJson = headers(MediaType.APPLICATION_JSON, "gzip");

	@Setup
	public void setUp() {
		this.shortJson = chunks(message(200));
		this.longJson = chunks(message(64 * 1024));
		this.stream = chunks(stream(300));
		this.longJsonGzip = chunks(gzip(message(64 * 1024)));
	}

	/** About 700 bytes: a one-line answer. */
	@Benchmark
	public long shortJsonMessage() {
		return meter(this.json, this.shortJson);
	}

	/** About 64 KB of text content. */
	@Benchmark
	public long longJsonMessage() {
		return meter(this.json, this.longJson);
	}

	/** message_start, 300 text deltas, message_delta, message_stop: about 45 KB. */
	@Benchmark
	public long eventStream300Deltas() {
		return meter(this.eventStream, this.stream);
	}

	/** The 64 KB message gzip-encoded. */
	@Benchmark
	public long longJsonMessageGzip() {
		return meter(this.gzipJson, this.longJsonGzip);
	}

	private static long meter(HttpHeaders headers, List<ByteBuf> chunks) {
		ResponseMeter meter = ResponseMeter.of(headers);
		for (ByteBuf chunk : chunks) {
			meter.read(chunk);
		}
		meter.end();
		return meter.scanner().usage().total();
	}

	private static HttpHeaders headers(MediaType type, String encoding) {
		HttpHeaders headers = new HttpHeaders();
		headers.setContentType(type);
		if (encoding != null) {
			headers.set(HttpHeaders.CONTENT_ENCODING, encoding);
		}
		return headers;
	}

	private static byte[] message(int textLength) {
		StringBuilder text = new StringBuilder();
		while (text.length() < textLength) {
			text.append("The quick brown fox jumps over the \\\"lazy\\\" dog; usage: {input_tokens: 5}. ");
		}
		return ("{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-opus-4-7\","
				+ "\"content\":[{\"type\":\"text\",\"text\":\"" + text + "\"}],\"stop_reason\":\"end_turn\","
				+ "\"stop_sequence\":null,\"usage\":{\"input_tokens\":2095,\"cache_creation_input_tokens\":0,"
				+ "\"cache_read_input_tokens\":14250,\"cache_creation\":{\"ephemeral_5m_input_tokens\":0,"
				+ "\"ephemeral_1h_input_tokens\":0},\"output_tokens\":503,\"service_tier\":\"standard\"}}")
			.getBytes(StandardCharsets.UTF_8);
	}

	private static byte[] stream(int deltas) {
		StringBuilder events = new StringBuilder("event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
				+ "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\","
				+ "\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":0,"
				+ "\"cache_read_input_tokens\":14250,\"output_tokens\":1}}}\n\n");
		for (int i = 0; i < deltas; i++) {
			events.append("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
					+ "\"delta\":{\"type\":\"text_delta\",\"text\":\"some words of the answer \"}}\n\n");
		}
		events.append("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
				+ "\"usage\":{\"output_tokens\":1500}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
		return events.toString().getBytes(StandardCharsets.UTF_8);
	}

	private static List<ByteBuf> chunks(byte[] bytes) {
		List<ByteBuf> chunks = new ArrayList<>();
		for (int offset = 0; offset < bytes.length; offset += CHUNK) {
			chunks.add(Unpooled.wrappedBuffer(bytes, offset, Math.min(CHUNK, bytes.length - offset)));
		}
		return chunks;
	}

	private static byte[] gzip(byte[] bytes) {
		ByteArrayOutputStream out = new ByteArrayOutputStream();
		try (GZIPOutputStream gzip = new GZIPOutputStream(out)) {
			gzip.write(bytes);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		return out.toByteArray();
	}

}
