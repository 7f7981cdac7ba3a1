package dev.keypool.config.reload;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;

/**
 * A provider that knows which keys it accepts: 401 for a revoked secret, 200 for any other.
 * It records which secret and which request number ({@code x-seq}) every request arrived with.
 */
final class KeyCheckingUpstream implements AutoCloseable {

	private final MockWebServer server = new MockWebServer();

	private final Set<String> revoked = ConcurrentHashMap.newKeySet();

	private final List<Arrival> arrivals = new CopyOnWriteArrayList<>();

	KeyCheckingUpstream() {
		this.server.setDispatcher(new Dispatcher() {
			@Override
			public MockResponse dispatch(RecordedRequest request) {
				String secret = request.getHeaders().get("x-api-key");
				String seq = request.getHeaders().get("x-seq");
				KeyCheckingUpstream.this.arrivals.add(new Arrival(secret, (seq != null) ? Long.parseLong(seq) : 0));
				boolean refused = secret == null || KeyCheckingUpstream.this.revoked.contains(secret);
				return new MockResponse.Builder().code(refused ? 401 : 200)
					.addHeader("Content-Type", "application/json")
					.body(refused ? "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key\"}}"
							: "{\"type\":\"message\",\"id\":\"msg_1\"}")
					.build();
			}
		});
		try {
			this.server.start();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	String url() {
		return "http://127.0.0.1:" + this.server.getPort();
	}

	void revoke(String secret) {
		this.revoked.add(secret);
	}

	void reset() {
		this.revoked.clear();
		this.arrivals.clear();
	}

	/** Secrets of the requests numbered above {@code seq}, in arrival order. */
	List<String> secretsAfter(long seq) {
		return this.arrivals.stream().filter((arrival) -> arrival.seq() > seq).map(Arrival::secret).toList();
	}

	List<String> secrets() {
		return this.arrivals.stream().map(Arrival::secret).toList();
	}

	@Override
	public void close() {
		this.server.close();
	}

	record Arrival(String secret, long seq) {
	}

}
