package dev.keypool.gateway;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import io.netty.buffer.PooledByteBufAllocator;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import reactor.core.publisher.Flux;

import org.springframework.core.io.buffer.NettyDataBufferFactory;

/**
 * What reading a pooled request's fields costs: {@link RequestFields#parse} over a Messages API
 * body cached in a pooled direct buffer, as the gateway holds it, for a small request and a
 * long conversation, with {@code model} first (as the SDKs send it) and last. The parse reads
 * the whole body either way (a second {@code model} must be found), skipping nested values.
 * Run it as bench/run.sh runs {@code KeyPoolBenchmark}: {@code org.openjdk.jmh.Main RequestFieldsBenchmark -prof gc}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RequestFieldsBenchmark {

	/** Body size in KB. */
	@Param({ "2", "200" })
	public int kilobytes;

	/** Whether {@code model} is the first member or the last. */
	@Param({ "true", "false" })
	public boolean modelFirst;

	private CachedBody body;

	@Setup
	public void setUp() {
		byte[] bytes = messages(this.kilobytes * 1024, this.modelFirst).getBytes(StandardCharsets.UTF_8);
		NettyDataBufferFactory factory = new NettyDataBufferFactory(PooledByteBufAllocator.DEFAULT);
		this.body = CachedBody.read(Flux.just(factory.wrap(bytes)), bytes.length, bytes.length + 1,
				new BufferBudget(Long.MAX_VALUE), factory).block();
	}

	@TearDown
	public void tearDown() {
		this.body.release();
	}

	@Benchmark
	public RequestFields parse() {
		return RequestFields.parse(this.body);
	}

	/** A Claude Code-like request: system prompt, tools, a conversation of text turns. */
	static String messages(int size, boolean modelFirst) {
		StringBuilder out = new StringBuilder(size + 512).append('{');
		if (modelFirst) {
			out.append("\"model\":\"claude-sonnet-4-6\",");
		}
		out.append("\"max_tokens\":32000,\"stream\":true,\"system\":[{\"type\":\"text\",\"text\":\"You are a helpful ")
			.append("assistant.\",\"cache_control\":{\"type\":\"ephemeral\"}}],\"tools\":[{\"name\":\"Read\",")
			.append("\"description\":\"Reads a file\",\"input_schema\":{\"type\":\"object\",\"properties\":{\"path\":")
			.append("{\"type\":\"string\"}},\"required\":[\"path\"]}}],\"messages\":[");
		int turn = 0;
		while (out.length() < size - 200) {
			out.append((turn > 0) ? "," : "")
				.append("{\"role\":\"")
				.append((turn % 2 == 0) ? "user" : "assistant")
				.append("\",\"content\":[{\"type\":\"text\",\"text\":\"");
			int text = Math.min(800, Math.max(1, size - 300 - out.length()));
			for (int i = 0; i < text; i++) {
				out.append((i % 61 == 60) ? "\\n" : (char) ('a' + (i * 7 + turn) % 26));
			}
			out.append("\"}]}");
			turn++;
		}
		out.append(']');
		if (!modelFirst) {
			out.append(",\"model\":\"claude-sonnet-4-6\"");
		}
		return out.append('}').toString();
	}

}
