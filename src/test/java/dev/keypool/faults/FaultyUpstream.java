package dev.keypool.faults;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import io.netty.handler.codec.http.HttpResponseStatus;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;

/**
 * A Messages API upstream that misbehaves at random, reproducibly: what it does to a request
 * is drawn from a generator seeded with the run's seed, the request number the client sends
 * in {@value #REQUEST_HEADER} and the key it was sent with, so a run replays exactly whatever
 * order the requests arrive in.
 * <p>
 * It records every fault it served, per key, so a test can work out the state the pool must
 * be in from what the upstream did, not from what the gateway says it did.
 */
final class FaultyUpstream implements AutoCloseable {

	static final String REQUEST_HEADER = "x-fault-request";

	/** Makes the upstream answer 200, for warming up. */
	static final String FORCE_OK_HEADER = "x-fault-force-ok";

	static final String MESSAGE_JSON = "{\"type\":\"message\",\"id\":\"msg_fault\",\"role\":\"assistant\","
			+ "\"content\":[{\"type\":\"text\",\"text\":\"hi\"}],\"stop_reason\":\"end_turn\"}";

	static final String SERVER_ERROR_JSON = "{\"type\":\"error\",\"error\":{\"type\":\"api_error\","
			+ "\"message\":\"upstream internal error\"}}";

	static final String[] STREAM_EVENTS = { "event: message_start\ndata: {\"type\":\"message_start\"}\n\n",
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"hi\"}}\n\n",
			"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n" };

	/** What the upstream does to one request. */
	enum Fault {

		OK, RATE_LIMITED, UNAUTHORIZED, SERVER_ERROR, RESET_BEFORE_HEADERS, RESET_MID_STREAM, STALL

	}

	/** One 429 as sent: the Retry-After headers it carried (null when absent). */
	record RateLimit(String retryAfterMs, String retryAfter) {
	}

	private final long seed;

	private final Clock clock;

	private final DisposableServer server;

	private final Map<Fault, AtomicInteger> served = new ConcurrentHashMap<>();

	private final Map<String, ConcurrentLinkedQueue<RateLimit>> rateLimits = new ConcurrentHashMap<>();

	private final Map<String, AtomicInteger> unauthorized = new ConcurrentHashMap<>();

	/** The stalled requests' connections, still open until the gateway gives up on them. */
	/** Per request number, completed once one of its attempts stalls. */
	private final Map<String, Sinks.Empty<Void>> stalls = new ConcurrentHashMap<>();

	private final AtomicInteger openStalls = new AtomicInteger();

	FaultyUpstream(long seed, Clock clock) {
		this.seed = seed;
		this.clock = clock;
		this.server = HttpServer.create().host("127.0.0.1").port(0).handle(this::handle).bindNow();
	}

	String url() {
		return "http://127.0.0.1:" + this.server.port();
	}

	int served(Fault fault) {
		AtomicInteger count = this.served.get(fault);
		return (count != null) ? count.get() : 0;
	}

	int servedTotal() {
		return this.served.values().stream().mapToInt(AtomicInteger::get).sum();
	}

	/** The 429s sent with this key secret, in no particular order. */
	List<RateLimit> rateLimits(String secret) {
		ConcurrentLinkedQueue<RateLimit> sent = this.rateLimits.get(secret);
		return (sent != null) ? List.copyOf(sent) : List.of();
	}

	/** How many 401s were sent with this key secret. */
	int unauthorized(String secret) {
		AtomicInteger count = this.unauthorized.get(secret);
		return (count != null) ? count.get() : 0;
	}

	/** Forgets what was sent with each key (the counts per fault stay). */
	void forgetKeys() {
		this.rateLimits.clear();
		this.unauthorized.clear();
	}

	/** Forgets how many of each fault were served (after a warm-up). */
	void resetCounts() {
		this.served.clear();
	}

	Map<Fault, Integer> servedCounts() {
		Map<Fault, Integer> counts = new java.util.EnumMap<>(Fault.class);
		this.served.forEach((fault, count) -> counts.put(fault, count.get()));
		return counts;
	}

	/**
	 * Completes once an attempt of request {@code number} stalls. From then on that request
	 * can only end in a timeout, which marks no key: its effect on the pool is complete.
	 */
	Mono<Void> stalled(int number) {
		return stallSignal(Integer.toString(number)).asMono();
	}

	private Sinks.Empty<Void> stallSignal(String number) {
		return this.stalls.computeIfAbsent(number, (n) -> Sinks.empty());
	}

	int openStalls() {
		return this.openStalls.get();
	}

	private Publisher<Void> handle(HttpServerRequest request, HttpServerResponse response) {
		String secret = request.requestHeaders().get("x-api-key", "");
		String number = request.requestHeaders().get(REQUEST_HEADER, "-1");
		boolean forceOk = request.requestHeaders().contains(FORCE_OK_HEADER);
		return request.receive().aggregate().asString(StandardCharsets.UTF_8).defaultIfEmpty("").flatMap((body) -> {
			boolean stream = body.contains("\"stream\":true");
			SplittableRandom random = new SplittableRandom(
					this.seed * 1_000_003L + Long.parseLong(number) * 7_919L + secret.hashCode());
			Fault fault = forceOk ? Fault.OK : draw(random, stream);
			this.served.computeIfAbsent(fault, (f) -> new AtomicInteger()).incrementAndGet();
			if (fault == Fault.STALL) {
				stallSignal(number).tryEmitEmpty();
			}
			return Mono.from(respond(fault, random, secret, stream, response));
		});
	}

	/**
	 * Per attempt: 72% 200, 6% 429, 2% 401, 5% 500, 5% reset before headers, 5% reset in the
	 * middle of a stream (a 200 for a request that does not stream), 5% stall.
	 */
	private static Fault draw(SplittableRandom random, boolean stream) {
		int roll = random.nextInt(100);
		if (roll < 72) {
			return Fault.OK;
		}
		if (roll < 78) {
			return Fault.RATE_LIMITED;
		}
		if (roll < 80) {
			return Fault.UNAUTHORIZED;
		}
		if (roll < 85) {
			return Fault.SERVER_ERROR;
		}
		if (roll < 90) {
			return Fault.RESET_BEFORE_HEADERS;
		}
		if (roll < 95) {
			return stream ? Fault.RESET_MID_STREAM : Fault.OK;
		}
		return Fault.STALL;
	}

	private Publisher<Void> respond(Fault fault, SplittableRandom random, String secret, boolean stream,
			HttpServerResponse response) {
		return switch (fault) {
			case OK -> stream ? eventStream(response, STREAM_EVENTS.length)
					: json(response, HttpResponseStatus.OK, MESSAGE_JSON);
			case RATE_LIMITED -> {
				RateLimit limit = retryAfter(random);
				this.rateLimits.computeIfAbsent(secret, (s) -> new ConcurrentLinkedQueue<>()).add(limit);
				if (limit.retryAfterMs() != null) {
					response.header("retry-after-ms", limit.retryAfterMs());
				}
				if (limit.retryAfter() != null) {
					response.header("retry-after", limit.retryAfter());
				}
				yield json(response, HttpResponseStatus.TOO_MANY_REQUESTS,
						"{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}");
			}
			case UNAUTHORIZED -> {
				this.unauthorized.computeIfAbsent(secret, (s) -> new AtomicInteger()).incrementAndGet();
				yield json(response, HttpResponseStatus.UNAUTHORIZED,
						"{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key\"}}");
			}
			case SERVER_ERROR -> json(response, HttpResponseStatus.INTERNAL_SERVER_ERROR, SERVER_ERROR_JSON);
			case RESET_BEFORE_HEADERS -> {
				response.withConnection((connection) -> connection.channel().close());
				yield Mono.never();
			}
			case RESET_MID_STREAM -> eventStream(response, 2).then(Mono.defer(() -> {
				response.withConnection((connection) -> connection.channel().close());
				return Mono.never();
			}));
			case STALL -> {
				this.openStalls.incrementAndGet();
				yield Mono.<Void>never().doFinally((signal) -> this.openStalls.decrementAndGet());
			}
		};
	}

	/** The many ways a provider says how long to wait, and saying nothing usable. */
	private RateLimit retryAfter(SplittableRandom random) {
		return switch (random.nextInt(9)) {
			case 0 -> new RateLimit(null, null);
			case 1 -> new RateLimit(null, "7");
			case 2 -> new RateLimit(null, "2.5");
			case 3 -> new RateLimit("1500", null);
			case 4 -> new RateLimit("250.5", "30");
			case 5 -> new RateLimit(null, DateTimeFormatter.RFC_1123_DATE_TIME
				.format(this.clock.instant().plus(Duration.ofSeconds(40)).atOffset(ZoneOffset.UTC)));
			case 6 -> new RateLimit(null, "86400");
			case 7 -> new RateLimit("0", "0");
			default -> new RateLimit(null, "soon");
		};
	}

	private static Publisher<Void> json(HttpServerResponse response, HttpResponseStatus status, String body) {
		return response.status(status).header("content-type", "application/json").sendString(Mono.just(body)).then();
	}

	/** The first {@code count} events of a stream, each flushed on its own. */
	private static Mono<Void> eventStream(HttpServerResponse response, int count) {
		return response.status(HttpResponseStatus.OK)
			.header("content-type", "text/event-stream")
			.sendString(Flux.fromArray(STREAM_EVENTS).take(count), StandardCharsets.UTF_8)
			.then();
	}

	@Override
	public void close() {
		this.server.disposeNow(Duration.ofSeconds(5));
	}

}
