import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;

import io.netty.handler.codec.http.HttpResponseStatus;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * Streaming upstream for bench/run.sh: answers any POST with a Messages API event stream,
 * one event every {@code x-bench-interval-ms}, {@code x-bench-events} events in all, the first
 * after {@code x-bench-first-delay-ms}. Every event carries {@code "sent_us"}, the wall-clock
 * time in microseconds just before it was written, so a client can tell how long the event
 * took to reach it.
 * <p>
 * Usage: {@code java -cp <reactor-netty jars> SseUpstream <port>}
 */
public final class SseUpstream {

	public static void main(String[] args) throws Exception {
		int port = Integer.parseInt(args[0]);
		DisposableServer server = HttpServer.create().host("127.0.0.1").port(port).handle((request, response) -> {
			int events = Integer.parseInt(request.requestHeaders().get("x-bench-events", "5"));
			long interval = Long.parseLong(request.requestHeaders().get("x-bench-interval-ms", "20"));
			long firstDelay = Long.parseLong(request.requestHeaders().get("x-bench-first-delay-ms", "20"));
			Flux<String> stream = Flux.range(0, events)
				.concatMap((i) -> Mono.delay(Duration.ofMillis((i == 0) ? firstDelay : interval))
					.map((tick) -> event(i, events)));
			return request.receive()
				.then()
				.then(response.status(HttpResponseStatus.OK)
					.header("content-type", "text/event-stream")
					.header("cache-control", "no-cache")
					.sendString(stream, StandardCharsets.UTF_8)
					.then());
		}).bindNow();
		System.out.println("SseUpstream listening on " + server.port());
		server.onDispose().block();
	}

	private static String event(int index, int count) {
		Instant now = Instant.now();
		long sentMicros = now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
		if (index == count - 1) {
			return "event: message_stop\ndata: {\"type\":\"message_stop\",\"sent_us\":" + sentMicros + "}\n\n";
		}
		if (index == 0) {
			return "event: message_start\ndata: {\"type\":\"message_start\",\"sent_us\":" + sentMicros
					+ ",\"message\":{\"id\":\"msg_bench\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-6\"}}\n\n";
		}
		return "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"sent_us\":" + sentMicros
				+ ",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"token " + index + "\"}}\n\n";
	}

}
