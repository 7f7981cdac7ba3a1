package dev.keypool.support;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;

/**
 * A real local HTTP upstream (okhttp MockWebServer) whose canned responses and recorded
 * requests are cleared between tests, so no test sees another's leftovers.
 */
public final class UpstreamStub implements AutoCloseable {

	private final MockWebServer server = new MockWebServer();

	private final ConcurrentLinkedQueue<MockResponse> responses = new ConcurrentLinkedQueue<>();

	private volatile MockResponse fallback = new MockResponse.Builder().code(200)
		.addHeader("Content-Type", "application/json")
		.body("{\"type\":\"message\",\"id\":\"msg_default\"}")
		.build();

	public UpstreamStub() {
		this.server.setDispatcher(new Dispatcher() {
			@Override
			public MockResponse dispatch(RecordedRequest request) {
				MockResponse next = UpstreamStub.this.responses.poll();
				return (next != null) ? next : UpstreamStub.this.fallback;
			}
		});
		try {
			this.server.start();
		}
		catch (IOException ex) {
			throw new IllegalStateException(ex);
		}
	}

	public String url() {
		return "http://127.0.0.1:" + this.server.getPort();
	}

	public UpstreamStub enqueue(MockResponse... responses) {
		for (MockResponse response : responses) {
			this.responses.add(response);
		}
		return this;
	}

	/** Answers every request not explicitly enqueued. */
	public void answerByDefault(MockResponse response) {
		this.fallback = response;
	}

	/** Every request received since the last reset, in order. */
	public List<RecordedRequest> takeAll() {
		List<RecordedRequest> all = new ArrayList<>();
		RecordedRequest request;
		while ((request = poll()) != null) {
			all.add(request);
		}
		return all;
	}

	private RecordedRequest poll() {
		try {
			return this.server.takeRequest(50, TimeUnit.MILLISECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return null;
		}
	}

	public void reset() {
		this.responses.clear();
		takeAll();
		this.fallback = json(200, "{\"type\":\"message\",\"id\":\"msg_default\"}");
	}

	public static MockResponse json(int status, String body) {
		return new MockResponse.Builder().code(status).addHeader("Content-Type", "application/json").body(body).build();
	}

	public static MockResponse rateLimited(String retryAfterSeconds) {
		MockResponse.Builder builder = new MockResponse.Builder().code(429)
			.addHeader("Content-Type", "application/json")
			.body("{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"upstream says slow down\"}}");
		if (retryAfterSeconds != null) {
			builder.addHeader("retry-after", retryAfterSeconds);
		}
		return builder.build();
	}

	@Override
	public void close() {
		this.server.close();
	}

}
