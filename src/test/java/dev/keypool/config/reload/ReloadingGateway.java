package dev.keypool.config.reload;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.keypool.KeypoolGatewayApplication;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyStatus;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * One gateway started the way a deployment starts it: settings as command-line arguments and
 * the keys from a file on disk ({@code spring.config.additional-location} or a config tree),
 * with the reload interval long enough that only {@link #checkFiles()} (what the interval's
 * timer runs) or {@code POST /actuator/refresh} reloads. Requests go over real HTTP.
 */
final class ReloadingGateway implements AutoCloseable {

	static final String ADMIN_TOKEN = "admin-token-reload-0001";

	private static final HttpClient http = HttpClient.newBuilder()
		.version(HttpClient.Version.HTTP_1_1)
		.connectTimeout(Duration.ofSeconds(5))
		.build();

	private final ConfigurableApplicationContext context;

	private ReloadingGateway(ConfigurableApplicationContext context) {
		this.context = context;
	}

	/**
	 * @param upstreamUrl where route {@code test} ({@code /v1/**}, {@code KeyFailover=test}) goes;
	 * {@code null} when the routes come from the configuration file
	 * @param extra further settings, e.g. the configuration location
	 */
	static ReloadingGateway start(String upstreamUrl, Map<String, String> extra) {
		Map<String, String> properties = new LinkedHashMap<>();
		if (upstreamUrl != null) {
			properties.put("spring.cloud.gateway.server.webflux.routes[0].id", "test");
			properties.put("spring.cloud.gateway.server.webflux.routes[0].uri", upstreamUrl);
			properties.put("spring.cloud.gateway.server.webflux.routes[0].predicates[0]", "Path=/v1/**");
			properties.put("spring.cloud.gateway.server.webflux.routes[0].filters[0]", "KeyFailover=test");
		}
		properties.put("server.port", "0");
		properties.put("management.server.port", "0");
		properties.put("spring.main.banner-mode", "off");
		properties.put("keypool.reload.interval", "1h");
		properties.putAll(extra);
		String[] args = properties.entrySet()
			.stream()
			.map((property) -> "--" + property.getKey() + "=" + property.getValue())
			.toArray(String[]::new);
		return new ReloadingGateway(new SpringApplicationBuilder(KeypoolGatewayApplication.class).run(args));
	}

	static void write(Path file, String content) {
		try {
			Path next = file.resolveSibling(file.getFileName() + ".next");
			Files.writeString(next, content);
			Files.move(next, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
					java.nio.file.StandardCopyOption.ATOMIC_MOVE);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	/**
	 * Two looks of the reload interval's timer: a changed file is reloaded at the second, once
	 * its content was seen the same twice.
	 */
	boolean checkFiles() {
		boolean first = checkOnce();
		return checkOnce() || first;
	}

	/** One look of the reload interval's timer. */
	boolean checkOnce() {
		return this.context.getBean(ConfigSourceWatcher.class).check();
	}

	KeypoolReloader reloader() {
		return this.context.getBean(KeypoolReloader.class);
	}

	dev.keypool.pool.KeyStateStore.StoreHealth storeHealth() {
		return this.context.getBean(dev.keypool.pool.KeyStateStore.class).health();
	}

	KeyPool pool() {
		return this.context.getBean(KeyPools.class).get("test").orElseThrow();
	}

	KeyStatus status(String keyId) {
		KeyPool pool = pool();
		return pool.status(pool.key(keyId).orElseThrow());
	}

	int port() {
		return ((WebServerApplicationContext) this.context).getWebServer().getPort();
	}

	int managementPort() {
		return Integer.parseInt(this.context.getEnvironment().getProperty("local.management.port"));
	}

	/** A pooled {@code POST /v1/messages} with the client token as {@code x-api-key}. */
	Response post(String clientToken, String... headers) {
		return postTo("/v1/messages", clientToken, headers);
	}

	Response postTo(String path, String clientToken, String... headers) {
		HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port() + path))
			.timeout(Duration.ofSeconds(20))
			.header("Content-Type", "application/json")
			.header("x-api-key", clientToken)
			.POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":1}"));
		for (int i = 0; i < headers.length; i += 2) {
			request.header(headers[i], headers[i + 1]);
		}
		return send(request.build());
	}

	/** A management request, with the admin token when one is given. */
	Response management(String method, String path, String adminToken) {
		HttpRequest.Builder request = HttpRequest
			.newBuilder(URI.create("http://127.0.0.1:" + managementPort() + path))
			.timeout(Duration.ofSeconds(20))
			.method(method, HttpRequest.BodyPublishers.noBody());
		if (adminToken != null) {
			request.header("Authorization", "Bearer " + adminToken);
		}
		return send(request.build());
	}

	String scrape() {
		return management("GET", "/actuator/prometheus", null).body();
	}

	private static Response send(HttpRequest request) {
		try {
			HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
			return new Response(response.statusCode(), response.headers().firstValue("X-Keypool-Key").orElse(null),
					response.body());
		}
		catch (IOException ex) {
			return new Response(-1, null, ex.toString());
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return new Response(-1, null, ex.toString());
		}
	}

	@Override
	public void close() {
		this.context.close();
	}

	record Response(int status, String servedBy, String body) {
	}

	/**
	 * Pooled requests sent back to back from a few threads until stopped, each numbered in
	 * header {@code x-seq}, so the upstream can tell which were sent after a switch.
	 */
	static final class Traffic implements AutoCloseable {

		private final List<Thread> threads = new ArrayList<>();

		private final List<Response> responses = java.util.Collections.synchronizedList(new ArrayList<>());

		private final java.util.concurrent.atomic.AtomicLong sequence = new java.util.concurrent.atomic.AtomicLong();

		private volatile boolean running = true;

		Traffic(ReloadingGateway gateway, String clientToken, int threads) {
			for (int i = 0; i < threads; i++) {
				Thread thread = new Thread(() -> {
					while (this.running) {
						this.responses.add(gateway.post(clientToken, "x-seq",
								Long.toString(this.sequence.incrementAndGet())));
					}
				}, "traffic-" + i);
				thread.setDaemon(true);
				this.threads.add(thread);
				thread.start();
			}
		}

		/** Numbers of requests not yet sent are above this. */
		long sentSoFar() {
			return this.sequence.get();
		}

		/** Waits until at least {@code count} more requests got their answer. */
		void awaitMore(int count) {
			int target = this.responses.size() + count;
			long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
			while (this.responses.size() < target && System.nanoTime() < deadline) {
				Thread.onSpinWait();
				Thread.yield();
			}
		}

		/** Stops and returns every answer. */
		List<Response> stop() {
			this.running = false;
			for (Thread thread : this.threads) {
				try {
					thread.join(Duration.ofSeconds(30).toMillis());
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
				}
			}
			synchronized (this.responses) {
				return List.copyOf(this.responses);
			}
		}

		@Override
		public void close() {
			stop();
		}

	}

}
