package dev.keypool.tracing;

import io.micrometer.observation.ObservationRegistry;
import reactor.core.publisher.Mono;

import org.springframework.web.server.ServerWebExchange;

/**
 * Runs each pooled request inside a {@code keypool.request} span, whose attempts
 * {@link RequestSpan} records. With {@link #OFF} (tracing not turned on) nothing is created or
 * stored: the request runs as it is.
 */
public final class PooledRequestTracing {

	/** Records nothing. */
	public static final PooledRequestTracing OFF = new PooledRequestTracing(ObservationRegistry.NOOP);

	private final ObservationRegistry registry;

	public PooledRequestTracing(ObservationRegistry registry) {
		this.registry = registry;
	}

	public boolean isOn() {
		return !this.registry.isNoop();
	}

	/**
	 * {@code request} inside the request's span: started at subscription, ended when
	 * {@code request} completes (the response written, a stream included), fails, or is
	 * cancelled because the caller went away.
	 */
	public Mono<Void> observe(ServerWebExchange exchange, String pool, String provider, Mono<Void> request) {
		if (!isOn()) {
			return request;
		}
		return Mono.defer(() -> {
			RequestSpan span = RequestSpan.start(this.registry, exchange, pool, provider);
			Throwable[] failure = new Throwable[1];
			return request.doOnError((ex) -> failure[0] = ex)
				.doFinally((signal) -> span.end(signal, failure[0]));
		});
	}

}
