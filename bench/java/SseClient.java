import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import io.netty.buffer.ByteBufAllocator;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.ByteBufFlux;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/**
 * Streaming client for bench/run.sh. Opens {@code streams} Messages API streams against
 * {@code url}, {@code concurrency} at a time, and reads each to its end.
 * <p>
 * Per stream it records the latency of the first event: the time it was received minus the
 * {@code "sent_us"} the upstream put in it just before writing it (same machine, same wall
 * clock). A stream that does not end with {@code message_stop} after the expected number of
 * events counts as dropped. Prints one {@code RESULT {json}} line.
 * <p>
 * Usage: {@code SseClient <url> <streams> <concurrency> <events> <interval-ms> <first-delay-ms>
 * <token> [open-marker-file]}; the marker file is written once every stream has received its
 * first event, while all of them are still open.
 */
public final class SseClient {

	private static final String BODY = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":256,\"stream\":true,"
			+ "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";

	public static void main(String[] args) throws Exception {
		String url = args[0];
		int streams = Integer.parseInt(args[1]);
		int concurrency = Integer.parseInt(args[2]);
		int events = Integer.parseInt(args[3]);
		String interval = args[4];
		String firstDelay = args[5];
		String token = args[6];
		Path openMarker = (args.length > 7) ? Path.of(args[7]) : null;

		ConnectionProvider connections = ConnectionProvider.builder("sse-bench")
			.maxConnections(concurrency)
			.pendingAcquireMaxCount(-1)
			.pendingAcquireTimeout(Duration.ofMinutes(5))
			.build();
		HttpClient client = HttpClient.create(connections).responseTimeout(Duration.ofSeconds(60));
		long[] firstEventMicros = new long[streams];
		Arrays.fill(firstEventMicros, -1);
		AtomicInteger completed = new AtomicInteger();
		AtomicInteger dropped = new AtomicInteger();
		List<String> errors = java.util.Collections.synchronizedList(new ArrayList<>());
		CountDownLatch allOpen = new CountDownLatch(streams);
		long start = System.nanoTime();

		Flux.range(0, streams).flatMap((n) -> client.headers((headers) -> {
			headers.set("content-type", "application/json");
			headers.set("anthropic-version", "2023-06-01");
			headers.set("x-api-key", token);
			headers.set("x-bench-events", Integer.toString(events));
			headers.set("x-bench-interval-ms", interval);
			headers.set("x-bench-first-delay-ms", firstDelay);
		}).post().uri(url).send(ByteBufFlux.fromString(Mono.just(BODY), StandardCharsets.UTF_8, ByteBufAllocator.DEFAULT))
			.response((response, body) -> {
				if (response.status().code() != 200) {
					return body.aggregate().asString().defaultIfEmpty("").map((text) -> {
						throw new IllegalStateException("status " + response.status().code() + ": " + text);
					});
				}
				StreamReader reader = new StreamReader(n, firstEventMicros, allOpen);
				return body.asString(StandardCharsets.UTF_8).doOnNext(reader::accept).then(Mono.fromSupplier(() -> reader));
			})
			.next()
			.doOnNext((reader) -> {
				StreamReader r = (StreamReader) reader;
				if (r.events == events && r.sawStop) {
					completed.incrementAndGet();
				}
				else {
					dropped.incrementAndGet();
					errors.add("stream " + n + ": " + r.events + " events, stop=" + r.sawStop);
				}
			})
			.onErrorResume((ex) -> {
				dropped.incrementAndGet();
				errors.add("stream " + n + ": " + ex);
				return Mono.empty();
			}), concurrency).then().subscribe();

		if (openMarker != null) {
			Thread marker = new Thread(() -> {
				try {
					allOpen.await();
					Files.writeString(openMarker, "open\n");
				}
				catch (Exception ex) {
					// the run ends without the marker; run.sh reports it
				}
			});
			marker.setDaemon(true);
			marker.start();
		}

		while (completed.get() + dropped.get() < streams) {
			Thread.sleep(20);
		}
		double seconds = (System.nanoTime() - start) / 1e9;
		long[] firsts = Arrays.stream(firstEventMicros).filter((v) -> v >= 0).sorted().toArray();
		System.out.printf("RESULT {\"streams\":%d,\"completed\":%d,\"dropped\":%d,\"seconds\":%.2f,"
				+ "\"first_event_us\":{\"n\":%d,\"p50\":%d,\"p90\":%d,\"p99\":%d,\"max\":%d}}%n", streams,
				completed.get(), dropped.get(), seconds, firsts.length, pct(firsts, 50), pct(firsts, 90),
				pct(firsts, 99), (firsts.length > 0) ? firsts[firsts.length - 1] : -1);
		errors.stream().limit(10).forEach((e) -> System.out.println("ERROR " + e));
		connections.disposeLater().block(Duration.ofSeconds(5));
		System.exit(0);
	}

	private static long pct(long[] sorted, int p) {
		if (sorted.length == 0) {
			return -1;
		}
		int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
		return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
	}

	/** Splits the body into events, whatever the chunking, and times the first one. */
	static final class StreamReader {

		private final int stream;

		private final long[] firstEventMicros;

		private final CountDownLatch allOpen;

		private final StringBuilder pending = new StringBuilder();

		int events;

		boolean sawStop;

		StreamReader(int stream, long[] firstEventMicros, CountDownLatch allOpen) {
			this.stream = stream;
			this.firstEventMicros = firstEventMicros;
			this.allOpen = allOpen;
		}

		void accept(String chunk) {
			Instant received = Instant.now();
			long receivedMicros = received.getEpochSecond() * 1_000_000L + received.getNano() / 1_000;
			this.pending.append(chunk);
			int end;
			while ((end = this.pending.indexOf("\n\n")) >= 0) {
				String event = this.pending.substring(0, end);
				this.pending.delete(0, end + 2);
				this.events++;
				if (event.startsWith("event: message_stop")) {
					this.sawStop = true;
				}
				if (this.events == 1) {
					int at = event.indexOf("\"sent_us\":");
					if (at >= 0) {
						int from = at + 10;
						int to = from;
						while (to < event.length() && Character.isDigit(event.charAt(to))) {
							to++;
						}
						this.firstEventMicros[this.stream] = receivedMicros - Long.parseLong(event.substring(from, to));
					}
					this.allOpen.countDown();
				}
			}
		}

	}

}
