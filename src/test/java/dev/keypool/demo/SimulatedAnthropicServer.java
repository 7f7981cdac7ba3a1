package dev.keypool.demo;

import java.time.Duration;
import java.util.List;
import java.util.function.BiConsumer;

import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

import org.springframework.http.HttpHeaders;
import org.springframework.http.server.reactive.HttpHandler;
import org.springframework.http.server.reactive.ReactorHttpHandlerAdapter;
import org.springframework.web.reactive.function.server.RouterFunctions;

/**
 * The simulated Anthropic API on its own Reactor Netty server, on a random port of
 * 127.0.0.1, without a prefix: point a route at {@link #baseUrl()} and call
 * {@code /v1/messages} as on {@code api.anthropic.com}. Close it when done.
 *
 * <pre class="code">
 * try (SimulatedAnthropicServer upstream = SimulatedAnthropicServer.start(
 * 		List.of(SimulatedKey.revoked("k1"), SimulatedKey.ok("k2")), Duration.ZERO)) {
 * 	// ... route uri: upstream.baseUrl()
 * 	assertThat(upstream.requestCount("k2")).isEqualTo(1);
 * }
 * </pre>
 */
public final class SimulatedAnthropicServer implements AutoCloseable {

	private final SimulatedAnthropicApi api;

	private final DisposableServer server;

	private SimulatedAnthropicServer(SimulatedAnthropicApi api, DisposableServer server) {
		this.api = api;
		this.server = server;
	}

	/**
	 * Starts a server that knows {@code keys} and spaces streamed deltas by
	 * {@code deltaDelay} ({@link Duration#ZERO} for none).
	 */
	public static SimulatedAnthropicServer start(List<SimulatedKey> keys, Duration deltaDelay) {
		return start(keys, deltaDelay, (request, response) -> {
		});
	}

	/**
	 * Starts a server as {@link #start(List, Duration)} does, whose every answer also carries
	 * the headers {@code extraHeaders} adds for the request: for instance the
	 * {@code anthropic-ratelimit-*} figures one key reports. Called before the answer is
	 * written, with the request's headers and the response's (still empty) ones.
	 */
	public static SimulatedAnthropicServer start(List<SimulatedKey> keys, Duration deltaDelay,
			BiConsumer<HttpHeaders, HttpHeaders> extraHeaders) {
		SimulatedAnthropicApi api = new SimulatedAnthropicApi(keys, deltaDelay);
		HttpHandler routes = RouterFunctions.toHttpHandler(api.routes(""));
		HttpHandler handler = (request, response) -> {
			extraHeaders.accept(request.getHeaders(), response.getHeaders());
			return routes.handle(request, response);
		};
		DisposableServer server = HttpServer.create()
			.host("127.0.0.1")
			.port(0)
			.handle(new ReactorHttpHandlerAdapter(handler))
			.bindNow();
		return new SimulatedAnthropicServer(api, server);
	}

	/** The port the server listens on. */
	public int port() {
		return this.server.port();
	}

	/** {@code http://127.0.0.1:<port>}, without a trailing slash. */
	public String baseUrl() {
		return "http://127.0.0.1:" + port();
	}

	/** How many requests presented this key; see {@link SimulatedAnthropicApi#requestCount(String)}. */
	public long requestCount(String secret) {
		return this.api.requestCount(secret);
	}

	/** The requests received, oldest first; see {@link SimulatedAnthropicApi#recordedRequests()}. */
	public List<RecordedRequest> recordedRequests() {
		return this.api.recordedRequests();
	}

	/** The API behind the server, for its other counters and {@link SimulatedAnthropicApi#reset()}. */
	public SimulatedAnthropicApi api() {
		return this.api;
	}

	/** Stops the server and waits until its connections are closed. */
	@Override
	public void close() {
		this.server.disposeNow();
	}

}
