package dev.keypool.support;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiFunction;

import io.netty.handler.codec.http.HttpHeaders;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;

/**
 * A real HTTP upstream whose answers are written by the test, byte by byte and with pauses
 * when needed: for streams, connection drops and stalls that a canned response cannot express.
 */
public final class ScriptedUpstream implements AutoCloseable {

	private final ConcurrentLinkedQueue<BiFunction<HttpServerRequest, HttpServerResponse, Publisher<Void>>> script = new ConcurrentLinkedQueue<>();

	private final List<Received> received = new CopyOnWriteArrayList<>();

	private final DisposableServer server;

	public ScriptedUpstream() {
		this.server = HttpServer.create().host("127.0.0.1").port(0).handle((request, response) -> request.receive()
			.aggregate()
			.asString(StandardCharsets.UTF_8)
			.defaultIfEmpty("")
			.flatMap((body) -> {
				this.received.add(new Received(request.uri(), request.requestHeaders().copy(), body));
				BiFunction<HttpServerRequest, HttpServerResponse, Publisher<Void>> next = this.script.poll();
				if (next == null) {
					return response.status(500).sendString(Mono.just("{\"unscripted\":true}")).then();
				}
				return Mono.from(next.apply(request, response));
			})).bindNow();
	}

	public String url() {
		return "http://127.0.0.1:" + this.server.port();
	}

	public void then(BiFunction<HttpServerRequest, HttpServerResponse, Publisher<Void>> answer) {
		this.script.add(answer);
	}

	public List<Received> received() {
		return List.copyOf(this.received);
	}

	public void reset() {
		this.script.clear();
		this.received.clear();
	}

	@Override
	public void close() {
		this.server.disposeNow();
	}

	/** What the upstream received. */
	public record Received(String uri, HttpHeaders headers, String body) {

		public String apiKey() {
			return this.headers.get("x-api-key");
		}

	}

}
