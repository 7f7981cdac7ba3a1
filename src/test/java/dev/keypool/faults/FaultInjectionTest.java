package dev.keypool.faults;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.ByteBufFlux;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

import dev.keypool.faults.FaultyUpstream.Fault;
import dev.keypool.faults.FaultyUpstream.RateLimit;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyState;
import dev.keypool.pool.PoolKey;
import dev.keypool.support.MutableClock;
import dev.keypool.support.NettyLeakDetection;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * 2 000 pooled requests, blocking and streaming mixed, 32 at a time, through the gateway to
 * an upstream that answers 200 / 429 (with every kind of Retry-After) / 401 / 500, resets
 * the connection before its headers or in the middle of a stream, or stalls past the response
 * timeout, at random from a fixed seed.
 * <p>
 * The clock stands still, so no cooldown ends during the run. The requests go in rounds of
 * 100; once each request of a round has been answered or has stalled (a stalled request can
 * only end in a 504, which marks no key), the state of every key must be exactly what the
 * upstream's answers for that key imply (disabled iff it sent a 401; cooling down until the
 * latest deadline its 429s asked for), and the keys are reset for the next round. Every response must be a success or an
 * error in the provider's shape, none may take longer than the response timeout allows, and
 * the number of each kind of response must match the number of faults of the matching kind.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		classes = { dev.keypool.KeypoolGatewayApplication.class, FaultInjectionTest.StoppedClock.class })
@ExtendWith(NettyLeakDetection.class)
class FaultInjectionTest {

	static final long SEED = 20260107L;

	static final int KEYS = 4;

	static final int ROUNDS = 20;

	static final int REQUESTS_PER_ROUND = 100;

	static final int CONCURRENCY = 32;

	/**
	 * Long enough that an upstream answering at once is never timed out on a loaded 2-core CI
	 * machine (answers took up to 2.2 s here with other builds running): a response the
	 * gateway gives up on is one whose effect on the pool is lost, and the state check is exact.
	 */
	static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(5);

	/** Beyond the response timeout: the failed attempts before a stall, and a busy 2-core machine. */
	static final Duration HANG_MARGIN = Duration.ofSeconds(3);

	static final String CLIENT_TOKEN = "client-token-faults-0001";

	static final MutableClock clock = new MutableClock(Instant.parse("2026-01-07T12:00:00Z"));

	static final FaultyUpstream upstream = new FaultyUpstream(SEED, clock);

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		registry.add("management.server.port", () -> "0");
		registry.add("keypool.clients[0].id", () -> "faults");
		registry.add("keypool.clients[0].token", () -> CLIENT_TOKEN);
		for (int i = 0; i < KEYS; i++) {
			int n = i;
			registry.add("keypool.pools.faults.keys[" + n + "].id", () -> "k" + n);
			registry.add("keypool.pools.faults.keys[" + n + "].secret", () -> secret(n));
		}
		registry.add("spring.cloud.gateway.server.webflux.httpclient.response-timeout",
				() -> RESPONSE_TIMEOUT.toMillis() + "ms");
		registry.add("spring.cloud.gateway.server.webflux.httpclient.connect-timeout", () -> "2000");
		registry.add("spring.cloud.gateway.server.webflux.routes[0].id", () -> "faults");
		registry.add("spring.cloud.gateway.server.webflux.routes[0].uri", upstream::url);
		registry.add("spring.cloud.gateway.server.webflux.routes[0].predicates[0]", () -> "Path=/v1/**");
		registry.add("spring.cloud.gateway.server.webflux.routes[0].filters[0]", () -> "KeyFailover=faults");
	}

	static String secret(int n) {
		return "sk-fault-secret-" + n + "-abcdefgh";
	}

	@TestConfiguration(proxyBeanMethods = false)
	static class StoppedClock {

		@Bean
		@Primary
		MutableClock faultClock() {
			return clock;
		}

	}

	@LocalServerPort
	int port;

	@Autowired
	KeyPools pools;

	@AfterAll
	static void stopUpstream() {
		upstream.close();
	}

	@Test
	void everyResponseIsWellFormedAndThePoolEndsInTheStateTheUpstreamCaused() throws Exception {
		KeyPool pool = this.pools.get("faults").orElseThrow();
		ConnectionProvider connections = ConnectionProvider.builder("fault-client").maxConnections(512).build();
		HttpClient client = HttpClient.create(connections).baseUrl("http://127.0.0.1:" + this.port);
		List<String> problems = new CopyOnWriteArrayList<>();
		List<CompletableFuture<Result>> calls = new CopyOnWriteArrayList<>();
		try {
			Flux.range(0, 64).flatMap((n) -> call(client, -1 - n, n % 2 == 0, true), 16).blockLast(Duration.ofSeconds(60));
			upstream.resetCounts();
			pool.keys().forEach(pool::reset);
			for (int round = 0; round < ROUNDS; round++) {
				Flux.range(round * REQUESTS_PER_ROUND, REQUESTS_PER_ROUND).flatMap((n) -> {
					CompletableFuture<Result> call = call(client, n, isStreaming(n), false).toFuture();
					calls.add(call);
					return Mono.firstWithSignal(Mono.fromFuture(call, true).then(), upstream.stalled(n));
				}, CONCURRENCY).blockLast(Duration.ofSeconds(60));
				checkPoolState(pool, round, problems);
				pool.keys().forEach(pool::reset);
				upstream.forgetKeys();
			}
			CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
		}
		finally {
			connections.disposeLater().block(Duration.ofSeconds(5));
		}

		Map<Outcome, Integer> outcomes = new EnumMap<>(Outcome.class);
		for (CompletableFuture<Result> call : calls) {
			outcomes.merge(classify(call.join(), problems), 1, Integer::sum);
		}
		System.out.println("fault injection: responses " + outcomes + "; upstream served " + upstream.servedCounts());
		List<String> all = new ArrayList<>(problems);
		int requests = outcomes.values().stream().mapToInt(Integer::intValue).sum();
		expect(all, "responses", requests, ROUNDS * REQUESTS_PER_ROUND);
		expect(all, "200 complete = upstream 200s", count(outcomes, Outcome.OK) + count(outcomes, Outcome.OK_STREAM),
				upstream.served(Fault.OK));
		expect(all, "streams ended by an error event = upstream resets mid-stream",
				count(outcomes, Outcome.STREAM_BROKEN), upstream.served(Fault.RESET_MID_STREAM));
		expect(all, "500 relayed = upstream 500s", count(outcomes, Outcome.RELAYED_500),
				upstream.served(Fault.SERVER_ERROR));
		expect(all, "504 = upstream stalls", count(outcomes, Outcome.TIMEOUT_504), upstream.served(Fault.STALL));
		expect(all, "502 connection failed = upstream resets before headers", count(outcomes, Outcome.CONNECTION_502),
				upstream.served(Fault.RESET_BEFORE_HEADERS));
		assertThat(all).as("outcomes %s; upstream served %s", outcomes, upstream.servedCounts()).isEmpty();
		assertThat(count(outcomes, Outcome.EXHAUSTED_429)).as("some requests found every key rate-limited").isPositive();
	}

	private static boolean isStreaming(int n) {
		return new SplittableRandom(SEED + n).nextBoolean();
	}

	private Mono<Result> call(HttpClient client, int n, boolean stream, boolean forceOk) {
		String body = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":16,\"stream\":" + stream
				+ ",\"messages\":[{\"role\":\"user\",\"content\":\"request " + n + "\"}]}";
		return Mono.defer(() -> {
			long start = System.nanoTime();
			return client.headers((headers) -> {
				headers.set("x-api-key", CLIENT_TOKEN);
				headers.set("anthropic-version", "2023-06-01");
				headers.set("content-type", "application/json");
				headers.set(FaultyUpstream.REQUEST_HEADER, Integer.toString(n));
				if (forceOk) {
					headers.set(FaultyUpstream.FORCE_OK_HEADER, "true");
				}
			})
				.post()
				.uri("/v1/messages")
				.send(ByteBufFlux.fromString(Mono.just(body), StandardCharsets.UTF_8,
						io.netty.buffer.ByteBufAllocator.DEFAULT))
				.responseSingle((response, content) -> content.asString(StandardCharsets.UTF_8)
					.defaultIfEmpty("")
					.map((text) -> new Result(n, stream, response.status().code(), response.responseHeaders(), text,
							Duration.ofNanos(System.nanoTime() - start), null)))
				.timeout(RESPONSE_TIMEOUT.plus(HANG_MARGIN).plusSeconds(5))
				.onErrorResume((ex) -> Mono.just(new Result(n, stream, 0, null, null,
						Duration.ofNanos(System.nanoTime() - start), ex)));
		});
	}

	/** The kinds of response the contract allows. */
	enum Outcome {

		OK, OK_STREAM, STREAM_BROKEN, RELAYED_500, TIMEOUT_504, CONNECTION_502, EXHAUSTED_429, EXHAUSTED_502, INVALID

	}

	record Result(int n, boolean stream, int status, HttpHeaders headers, String body, Duration elapsed,
			Throwable error) {

		@Override
		public String toString() {
			return "request " + this.n + (this.stream ? " (stream)" : "") + ": " + ((this.error != null)
					? this.error.toString() : this.status + " after " + this.elapsed.toMillis() + " ms " + this.body);
		}

	}

	static final String STREAM_ERROR_EVENT = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\","
			+ "\"message\":\"upstream connection closed before the stream ended\"}}\n\n";

	private static Outcome classify(Result result, List<String> problems) {
		if (result.error() != null) {
			problems.add("no complete response: " + result);
			return Outcome.INVALID;
		}
		if (result.elapsed().compareTo(RESPONSE_TIMEOUT.plus(HANG_MARGIN)) > 0) {
			problems.add("took longer than the response timeout allows: " + result);
		}
		if (result.body().contains("sk-fault-secret")) {
			problems.add("a key secret reached the client: " + result);
		}
		Outcome outcome = outcome(result);
		if (outcome == Outcome.INVALID) {
			problems.add("not a success nor an error of the contract: " + result + " headers " + result.headers());
		}
		return outcome;
	}

	private static Outcome outcome(Result result) {
		String body = result.body();
		String key = result.headers().get("X-Keypool-Key");
		String contentType = String.valueOf(result.headers().get("content-type"));
		switch (result.status()) {
			case 200 -> {
				if (key == null) {
					return Outcome.INVALID;
				}
				if (!result.stream()) {
					return contentType.startsWith("application/json") && body.equals(FaultyUpstream.MESSAGE_JSON)
							? Outcome.OK : Outcome.INVALID;
				}
				if (!contentType.startsWith("text/event-stream")) {
					return Outcome.INVALID;
				}
				String prefix = FaultyUpstream.STREAM_EVENTS[0] + FaultyUpstream.STREAM_EVENTS[1];
				if (body.equals(prefix + FaultyUpstream.STREAM_EVENTS[2])) {
					return Outcome.OK_STREAM;
				}
				return body.equals(prefix + STREAM_ERROR_EVENT) ? Outcome.STREAM_BROKEN : Outcome.INVALID;
			}
			case 500 -> {
				return (key != null && body.equals(FaultyUpstream.SERVER_ERROR_JSON)) ? Outcome.RELAYED_500
						: Outcome.INVALID;
			}
			case 504 -> {
				return isError(result, "api_error", "upstream did not respond in time") ? Outcome.TIMEOUT_504
						: Outcome.INVALID;
			}
			case 502 -> {
				if (isError(result, "api_error", "upstream connection failed")) {
					return Outcome.CONNECTION_502;
				}
				return isError(result, "api_error", "all configured keys failed authentication") ? Outcome.EXHAUSTED_502
						: Outcome.INVALID;
			}
			case 429 -> {
				String retryAfter = result.headers().get("Retry-After");
				boolean retryAfterValid = retryAfter == null || retryAfter.matches("[1-9][0-9]*");
				return retryAfterValid && isError(result, "rate_limit_error", "all configured keys are rate-limited")
						? Outcome.EXHAUSTED_429 : Outcome.INVALID;
			}
			default -> {
				return Outcome.INVALID;
			}
		}
	}

	private static boolean isError(Result result, String type, String message) {
		return String.valueOf(result.headers().get("content-type")).startsWith("application/json") && result.body()
			.equals("{\"type\":\"error\",\"error\":{\"type\":\"" + type + "\",\"message\":\"" + message + "\"}}");
	}

	/** With the clock stopped, each key's state follows from what the upstream answered with it. */
	private static void checkPoolState(KeyPool pool, int round, List<String> problems) {
		Instant now = clock.instant();
		for (PoolKey key : pool.keys()) {
			boolean disabled = upstream.unauthorized(key.secret()) > 0;
			Instant until = null;
			for (RateLimit limit : upstream.rateLimits(key.secret())) {
				Instant deadline = now.plus(pool.policy().cooldownFor(limit.retryAfterMs(), limit.retryAfter(), now));
				if (until == null || deadline.isAfter(until)) {
					until = deadline;
				}
			}
			// every request asks for a Sonnet model: rate limits cool the (key, sonnet) scope
			KeyState state = pool.state(key, pool.modelClassOf("claude-sonnet-4-6"));
			if (pool.state(key).disabled() != disabled || !java.util.Objects.equals(state.cooldownUntil(), until)) {
				problems.add("round " + round + ", key " + key.id() + ": expected disabled=" + disabled
						+ " cooldownUntil=" + until + ", pool has " + state);
			}
		}
	}

	private static int count(Map<Outcome, Integer> outcomes, Outcome outcome) {
		return outcomes.getOrDefault(outcome, 0);
	}

	private static void expect(List<String> problems, String what, int actual, int expected) {
		if (actual != expected) {
			problems.add(what + ": " + actual + " responses, expected " + expected);
		}
	}

}
