package dev.keypool.gateway;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Supplier;

import io.netty.handler.timeout.ReadTimeoutException;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import dev.keypool.budget.BudgetDecision;
import dev.keypool.budget.ClientBudgets;
import dev.keypool.pool.AttemptOutcome;
import dev.keypool.pool.CallerMode;
import dev.keypool.pool.CallerText;
import dev.keypool.pool.Exhaustion;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyWalker;
import dev.keypool.pool.ModelClasses;
import dev.keypool.pool.PoolKey;
import dev.keypool.pool.Verdict;
import dev.keypool.pool.WaitOutcome;
import dev.keypool.provider.AttemptRequest;
import dev.keypool.provider.Authorized;
import dev.keypool.provider.ErrorKind;
import dev.keypool.provider.KeyAuthorizer;
import dev.keypool.provider.ProviderDialect;
import dev.keypool.tracing.PooledRequestTracing;
import dev.keypool.tracing.RequestSpan;
import dev.keypool.usage.UsageAccounting;

import org.springframework.cloud.gateway.filter.GatewayFilter;
import org.springframework.cloud.gateway.filter.GatewayFilterChain;
import org.springframework.cloud.gateway.filter.factory.AbstractGatewayFilterFactory;
import org.springframework.cloud.gateway.route.Route;
import org.springframework.cloud.gateway.support.ServerWebExchangeUtils;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;
import org.springframework.util.Assert;
import org.springframework.util.unit.DataSize;
import org.springframework.web.server.ResponseStatusException;
import org.springframework.web.server.ServerWebExchange;

import static org.springframework.cloud.gateway.support.GatewayToStringStyler.filterToStringCreator;

/**
 * {@code KeyFailover=<pool>}: serves each pooled request with the first key of the pool
 * that succeeds.
 * <p>
 * Like {@code RetryGatewayFilterFactory}, an attempt is a subscription to
 * {@code chain.filter(exchange)}; its status is read when the routing filter has set it and
 * before any byte is written, and {@link ServerWebExchangeUtils#reset} clears the attempt
 * (disposing its upstream connection) before the next key is tried. The request body is read
 * once, up to {@code keypool.max-request-body}, and replayed without copying.
 */
public class KeyFailoverGatewayFilterFactory extends AbstractGatewayFilterFactory<KeyFailoverGatewayFilterFactory.Config> {

	/** Exchange attribute set on pooled requests; header filters strip forwarding headers then. */
	public static final String POOLED_REQUEST_ATTR = KeyFailoverGatewayFilterFactory.class.getName() + ".pooled";

	/** The key that produced a pooled response. */
	public static final String KEY_HEADER = "X-Keypool-Key";

	/** How many upstream attempts a pooled response took. */
	public static final String ATTEMPTS_HEADER = "X-Keypool-Attempts";

	/** Tells Claude Code and the SDKs whether retrying can help. */
	public static final String SHOULD_RETRY_HEADER = "x-should-retry";

	/** The shortest hold of a waiting request, so a key that is back already is not raced for in a loop. */
	private static final Duration MIN_HOLD = Duration.ofMillis(50);

	/** How often one request may be held before it is answered. */
	private static final int MAX_HOLDS = 5;

	/** A failed attempt's error body is small; one that takes longer to arrive is cut. */
	private static final Duration DISCARD_TIMEOUT = Duration.ofSeconds(2);

	/** How long a refused request's body is read before the refusal goes out anyway. */
	private static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(5);

	private static final Log logger = LogFactory.getLog(KeyFailoverGatewayFilterFactory.class);

	/** Whether an attempt that lost its credential on the way out was logged at WARN yet. */
	private static final AtomicBoolean CREDENTIAL_LOST_LOGGED = new AtomicBoolean();

	private final Supplier<PoolBindings> bindings;

	private final int maxRequestBodyBytes;

	private final BufferBudget bufferBudget;

	private final Duration streamIdleTimeout;

	private final Duration requestBodyTimeout;

	private final WaitTimers waitTimers;

	private final UsageAccounting usage;

	private final ClientBudgets budgets;

	private final PooledRequestTracing tracing;

	/**
	 * @param pools the pools by name
	 * @param callers tells pooled callers from BYOK ones
	 * @param maxRequestBody largest request body accepted, pooled or BYOK
	 * @param bufferBudget memory shared by the bodies held for replay
	 * @param streamIdleTimeout how long an upstream response body may stay silent
	 * @param requestBodyTimeout how long a request body may take to arrive, in total
	 * @param waitTimers where requests held for a key to come back ({@code max-wait}) are timed
	 * @param usage counts the tokens of relayed responses
	 * @param budgets clients' budgets, checked before a client's request goes upstream
	 * @param tracing spans of pooled requests and their attempts ({@link PooledRequestTracing#OFF} for none)
	 */
	public KeyFailoverGatewayFilterFactory(Map<String, PoolBinding> pools, CallerResolver callers,
			DataSize maxRequestBody, BufferBudget bufferBudget, Duration streamIdleTimeout, Duration requestBodyTimeout,
			WaitTimers waitTimers, UsageAccounting usage, ClientBudgets budgets, PooledRequestTracing tracing) {
		this(fixed(new PoolBindings(pools, callers)), maxRequestBody, bufferBudget, streamIdleTimeout,
				requestBodyTimeout, waitTimers, usage, budgets, tracing);
	}

	/**
	 * @param bindings the current pools and clients, read once per request, so a reload
	 * applies to the next request and a request in flight keeps what it started with
	 * @param maxRequestBody largest request body accepted, pooled or BYOK
	 * @param bufferBudget memory shared by the bodies held for replay
	 * @param streamIdleTimeout how long an upstream response body may stay silent
	 * @param requestBodyTimeout how long a request body may take to arrive, in total
	 * @param waitTimers where requests held for a key to come back ({@code max-wait}) are timed
	 * @param usage counts the tokens of relayed responses
	 * @param budgets clients' budgets, checked before a client's request goes upstream
	 * @param tracing spans of pooled requests and their attempts ({@link PooledRequestTracing#OFF} for none)
	 */
	public KeyFailoverGatewayFilterFactory(Supplier<PoolBindings> bindings, DataSize maxRequestBody,
			BufferBudget bufferBudget, Duration streamIdleTimeout, Duration requestBodyTimeout, WaitTimers waitTimers,
			UsageAccounting usage, ClientBudgets budgets, PooledRequestTracing tracing) {
		super(Config.class);
		this.bindings = bindings;
		this.maxRequestBodyBytes = (int) Math.min(Integer.MAX_VALUE, maxRequestBody.toBytes());
		this.bufferBudget = bufferBudget;
		this.streamIdleTimeout = streamIdleTimeout;
		this.requestBodyTimeout = requestBodyTimeout;
		this.waitTimers = waitTimers;
		this.usage = usage;
		this.budgets = budgets;
		this.tracing = tracing;
	}

	private static Supplier<PoolBindings> fixed(PoolBindings bindings) {
		return () -> bindings;
	}

	/** Timers of held requests neither fired nor cancelled yet. */
	public int pendingWaitTimers() {
		return this.waitTimers.pending();
	}

	@Override
	public List<String> shortcutFieldOrder() {
		return List.of("pool");
	}

	@Override
	public GatewayFilter apply(Config config) {
		config.validate(this.bindings.get().pools().keySet());
		String poolName = config.getPool();
		ProviderDialect dialect = this.bindings.get().pools().get(poolName).dialect();
		return new GatewayFilter() {

			@Override
			public Mono<Void> filter(ServerWebExchange exchange, GatewayFilterChain chain) {
				PoolBindings current = KeyFailoverGatewayFilterFactory.this.bindings.get();
				PoolBinding binding = current.pools().get(poolName);
				if (binding == null) {
					// the pool was removed by a reload and the route not yet refreshed
					return refuse(exchange, GatewayErrors.write(exchange, dialect,
							HttpStatus.SERVICE_UNAVAILABLE, ErrorKind.OVERLOADED, "pool is not configured"));
				}
				return KeyFailoverGatewayFilterFactory.this.filter(exchange, chain, binding, current.callers());
			}

			@Override
			public String toString() {
				PoolBinding binding = KeyFailoverGatewayFilterFactory.this.bindings.get().pools().get(poolName);
				return filterToStringCreator(KeyFailoverGatewayFilterFactory.this).append("pool", poolName)
					.append("keys", (binding != null) ? binding.pool().keys().size() : 0)
					.append("byok", (binding != null) && binding.byok())
					.toString();
			}

		};
	}

	private Mono<Void> filter(ServerWebExchange exchange, GatewayFilterChain chain, PoolBinding binding,
			CallerResolver callers) {
		ServerHttpRequest request = exchange.getRequest();
		if (!RequestEdges.methodAllowed(request)) {
			return refuse(exchange, GatewayErrors.write(exchange, binding.dialect(), HttpStatus.METHOD_NOT_ALLOWED,
					ErrorKind.INVALID_REQUEST, "method " + request.getMethod().name() + " is not allowed here",
					(headers) -> headers.set(HttpHeaders.ALLOW, RequestEdges.ALLOW_HEADER_VALUE)));
		}
		String badRequest = RequestEdges.badRequest(request, binding.dialect().allowsEncodedSlash());
		if (badRequest != null) {
			return refuse(exchange, GatewayErrors.write(exchange, binding.dialect(), HttpStatus.BAD_REQUEST,
					ErrorKind.INVALID_REQUEST, badRequest));
		}
		if (request.getHeaders().getContentLength() > this.maxRequestBodyBytes) {
			return refuse(exchange, requestTooLarge(exchange, binding));
		}
		if (callers.hidesClientToken(request.getHeaders())) {
			return refuse(exchange, GatewayErrors.write(exchange, binding.dialect(), HttpStatus.UNAUTHORIZED,
					ErrorKind.AUTHENTICATION, "malformed credential header: send one x-api-key, or one "
							+ "Authorization: Bearer, with one value"));
		}
		Caller caller = callers.resolve(request.getHeaders());
		if (caller.kind() == Caller.Kind.ANONYMOUS
				&& binding.dialect().carriesOwnCredential(request.getHeaders()::getFirst)) {
			caller = Caller.OWN_KEY;
		}
		KeyPool pool = binding.pool();
		this.usage.begin(exchange, pool, caller.clientId(), caller.kind() == Caller.Kind.OWN_KEY);
		switch (caller.kind()) {
			case OWN_KEY -> {
				if (!binding.byok()) {
					return refuse(exchange, GatewayErrors.write(exchange, binding.dialect(), HttpStatus.UNAUTHORIZED,
							ErrorKind.AUTHENTICATION, "invalid client token"));
				}
				pool.recordRequest(CallerMode.BYOK, caller.clientId());
				return passThrough(exchange, chain, binding, callers);
			}
			case ANONYMOUS -> {
				if (!binding.allowAnonymous()) {
					return refuse(exchange, GatewayErrors.write(exchange, binding.dialect(), HttpStatus.UNAUTHORIZED,
							ErrorKind.AUTHENTICATION, "x-api-key header or Authorization: Bearer token is required"));
				}
			}
			case CLIENT -> {
				// a configured client: served from the pool
			}
		}
		pool.recordRequest(CallerMode.POOLED, caller.clientId());
		return pooled(exchange, chain, binding, caller.clientId());
	}

	/** A client over its budget: nothing goes upstream; it may retry when its window frees. */
	private static Mono<Void> overBudget(ServerWebExchange exchange, PoolBinding binding, BudgetDecision decision) {
		return GatewayErrors.write(exchange, binding.dialect(), HttpStatus.TOO_MANY_REQUESTS, ErrorKind.RATE_LIMIT,
				"client budget exceeded", (headers) -> {
					headers.set(HttpHeaders.RETRY_AFTER, Long.toString(decision.retryAfterSeconds()));
					headers.set(SHOULD_RETRY_HEADER, "true");
				});
	}

	/**
	 * Bring your own key: one attempt, the pool untouched, the request as it came except for
	 * any client token it also carries, and a body of unknown length counted as it streams.
	 */
	private Mono<Void> passThrough(ServerWebExchange exchange, GatewayFilterChain chain, PoolBinding binding,
			CallerResolver callers) {
		ServerWebExchange forwarded = exchange.mutate().request(byokRequest(exchange.getRequest(), callers)).build();
		return chain.filter(forwarded)
			.doOnCancel(() -> AttemptObservations.endWithoutResponse(exchange, null))
			.then(Mono.defer(() -> ResponseRelay.relay(exchange, binding.dialect(), this.streamIdleTimeout)))
			.onErrorResume((ex) -> !exchange.getResponse().isCommitted(), (ex) -> {
				AttemptObservations.endWithoutResponse(exchange, ex);
				if (causedBy(ex, CachedBody.RequestBodyTimeout.class)) {
					return requestTimeout(exchange, binding);
				}
				return isRequestTooLarge(ex) ? requestTooLarge(exchange, binding)
						: upstreamFailure(exchange, binding, ex, null);
			});
	}

	private ServerHttpRequest byokRequest(ServerHttpRequest request, CallerResolver callers) {
		HttpHeaders scrubbed = callers.withoutClientTokens(request.getHeaders());
		boolean unknownLength = request.getHeaders().getContentLength() < 0;
		HttpHeaders headers = (scrubbed != null) ? HttpHeaders.readOnlyHttpHeaders(scrubbed) : request.getHeaders();
		Flux<DataBuffer> body = within(
				unknownLength ? limited(request.getBody(), this.maxRequestBodyBytes) : request.getBody(),
				this.requestBodyTimeout);
		return new ServerHttpRequestDecorator(request) {

			@Override
			public HttpHeaders getHeaders() {
				return headers;
			}

			@Override
			public Flux<DataBuffer> getBody() {
				return body;
			}

		};
	}

	/**
	 * The body, up to {@code maxBytes}; past that it fails with
	 * {@link CachedBody.RequestTooLarge}, but only once the caller finished sending (or sent
	 * twice the limit): answering while request bytes are still unread makes the connection
	 * reset, and the reset can destroy the 413 before the caller reads it.
	 */
	static Flux<DataBuffer> limited(Flux<DataBuffer> body, int maxBytes) {
		return Flux.defer(() -> {
			long[] seen = { 0 };
			return body.<DataBuffer>handle((chunk, sink) -> {
				seen[0] += chunk.readableByteCount();
				if (seen[0] <= maxBytes) {
					sink.next(chunk);
					return;
				}
				DataBufferUtils.release(chunk);
				if (seen[0] > 2L * maxBytes) {
					sink.error(new CachedBody.RequestTooLarge());
				}
			}).concatWith(Mono.defer(() -> (seen[0] > maxBytes) ? Mono.error(new CachedBody.RequestTooLarge()) : Mono.empty()));
		});
	}

	/**
	 * The body, failing with {@link CachedBody.RequestBodyTimeout} unless it is complete within
	 * {@code timeout} of the first subscription. Total, not idle, time: a body trickled a byte
	 * every few seconds never goes idle, yet must not hold its connection (and, for BYOK, an
	 * upstream request) for long. Cancelling the body on timeout aborts whatever sends it.
	 */
	static Flux<DataBuffer> within(Flux<DataBuffer> body, Duration timeout) {
		return Flux.defer(() -> {
			long deadline = Schedulers.parallel().now(TimeUnit.NANOSECONDS) + timeout.toNanos();
			Mono<Long> remaining = Mono.defer(() -> Mono.delay(
					Duration.ofNanos(Math.max(0, deadline - Schedulers.parallel().now(TimeUnit.NANOSECONDS)))));
			// a chunk that arrives as the deadline passes is dropped by timeout(): released here
			return body.timeout(remaining, (chunk) -> remaining, Mono.error(CachedBody.RequestBodyTimeout::new))
				.doOnDiscard(DataBuffer.class, DataBufferUtils::release);
		});
	}

	private static boolean isRequestTooLarge(Throwable error) {
		return causedBy(error, CachedBody.RequestTooLarge.class);
	}

	private static boolean causedBy(Throwable error, Class<? extends Throwable> type) {
		for (Throwable t = error; t != null; t = t.getCause()) {
			if (type.isInstance(t)) {
				return true;
			}
		}
		return false;
	}

	/**
	 * A pooled request: its body is cached, then its client's budget checked with what it may
	 * use reserved ({@code max_tokens} plus an input estimate, read from the body), then the
	 * walk. The reservation is settled when the response's usage is counted, or given back
	 * when the request ends without one.
	 */
	private Mono<Void> pooled(ServerWebExchange exchange, GatewayFilterChain chain, PoolBinding binding,
			String client) {
		HttpHeaders requestHeaders = exchange.getRequest().getHeaders();
		long declaredLength = requestHeaders.getContentLength();
		if (declaredLength < 0 && !requestHeaders.containsHeader(HttpHeaders.TRANSFER_ENCODING)) {
			declaredLength = 0;
		}
		exchange.getAttributes().put(POOLED_REQUEST_ATTR, Boolean.TRUE);
		Mono<Void> request = CachedBody
			.read(within(limited(exchange.getRequest().getBody(), this.maxRequestBodyBytes), this.requestBodyTimeout),
					declaredLength,
					this.maxRequestBodyBytes, this.bufferBudget,
					exchange.getResponse().bufferFactory())
			.flatMap((body) -> {
				RequestFields fields;
				try {
					fields = RequestFields.parse(body);
				}
				catch (RequestFields.DuplicateModel ex) {
					body.release();
					return GatewayErrors.write(exchange, binding.dialect(), HttpStatus.BAD_REQUEST,
							ErrorKind.INVALID_REQUEST, ex.getMessage());
				}
				UsageAccounting.maxTokens(exchange, fields.maxTokens());
				return this.budgets.admit(exchange, client, ClientBudgets.reservationFor(fields.maxTokens(), body.size()))
					.flatMap((decision) -> decision.allowed()
							? attempt(exchange, chain, new Attempts(binding, body, fields, binding.pool().walker()))
							: overBudget(exchange, binding, decision))
					.doFinally((signal) -> body.release());
			})
			.doFinally((signal) -> this.budgets.release(exchange))
			.onErrorResume(CachedBody.RequestTooLarge.class, (ex) -> requestTooLarge(exchange, binding))
			.onErrorResume(CachedBody.RequestBodyTimeout.class, (ex) -> requestTimeout(exchange, binding))
			.onErrorResume(CachedBody.OverBudget.class,
					(ex) -> ex.beforeReading() ? refuse(exchange, overloaded(exchange, binding))
							: overloaded(exchange, binding));
		return this.tracing.observe(exchange, binding.pool().name(), binding.pool().provider(), request);
	}

	/**
	 * Reads and drops the request body before the refusal is written. A server that answers
	 * and closes with request bytes still unread makes the kernel reset the connection, and
	 * the reset can destroy the answer before the caller reads it. Bodies far beyond the
	 * limit are not read: their connection is closed after the answer.
	 */
	private Mono<Void> refuse(ServerWebExchange exchange, Mono<Void> refusal) {
		long cap = 2L * this.maxRequestBodyBytes;
		if (exchange.getRequest().getHeaders().getContentLength() > cap) {
			return refusal;
		}
		long[] drained = { 0 };
		Mono<Void> drain = exchange.getRequest().getBody().<DataBuffer>handle((chunk, sink) -> {
			drained[0] += chunk.readableByteCount();
			DataBufferUtils.release(chunk);
			if (drained[0] > cap) {
				sink.complete();
			}
		}).then().timeout(DRAIN_TIMEOUT).onErrorResume((ex) -> Mono.empty());
		return drain.then(refusal);
	}

	private Mono<Void> attempt(ServerWebExchange exchange, GatewayFilterChain chain, Attempts attempts) {
		attempts.plan(exchange);
		PoolKey key = attempts.walker.next();
		if (key == null) {
			return exhausted(exchange, chain, attempts);
		}
		return attempts.requestFor(exchange, key).onErrorMap(AuthorizationFailed::new).flatMap((attemptRequest) -> {
			AttemptObservations.beginAttempt(exchange);
			RequestSpan.of(exchange).attemptStarted(key.id(), attempts.attemptCount());
			return chain.filter(exchange.mutate().request(attemptRequest).build())
				.doOnCancel(() -> AttemptObservations.endWithoutResponse(exchange, null))
				.then(Mono.fromSupplier(() -> AttemptResult.RESPONDED))
				.onErrorResume((ex) -> !exchange.getResponse().isCommitted(), (ex) -> {
					AttemptObservations.endWithoutResponse(exchange, ex);
					return Mono.just(new AttemptResult(ex));
				});
		})
			.flatMap((result) -> (result.error == null) ? decide(exchange, chain, attempts, key)
					: networkFailure(exchange, attempts, key, result.error))
			.onErrorResume(AuthorizationFailed.class, (ex) -> unauthorized(exchange, chain, attempts, key, ex));
	}

	/**
	 * The key could not authorize the attempt (its access token could not be obtained): it is
	 * of no use for now, so it cools down key-wide for {@code default-cooldown} and the next key
	 * is tried. The cause is logged by type only: token endpoints may echo what they were sent.
	 */
	private Mono<Void> unauthorized(ServerWebExchange exchange, GatewayFilterChain chain, Attempts attempts,
			PoolKey key, AuthorizationFailed failure) {
		KeyPool pool = attempts.binding.pool();
		logger.warn("Pool '" + pool.name() + "': key '" + key.id() + "' could not authorize a request ("
				+ failure.getCause().getClass().getSimpleName() + "); cooling it down");
		logger.debug("Key authorization failure", failure.getCause());
		pool.recordAttempt(key, AttemptOutcome.AUTH_FAILED);
		pool.coolDown(key, pool.policy().defaultCooldown(), HttpStatus.UNAUTHORIZED.value());
		pool.recordFailover(AttemptOutcome.AUTH_FAILED);
		return attempt(exchange, chain, attempts);
	}

	private Mono<Void> decide(ServerWebExchange exchange, GatewayFilterChain chain, Attempts attempts, PoolKey key) {
		KeyPool pool = attempts.binding.pool();
		HttpStatusCode status = exchange.getResponse().getStatusCode();
		HttpHeaders responseHeaders = exchange.getResponse().getHeaders();
		Verdict verdict = (status != null)
				? attempts.binding.dialect().classify(pool.policy(), status.value(), responseHeaders::getFirst)
				: Verdict.RELAY;
		boolean credentialSent = attempts.credential != null && attempts.credential.sent();
		if (!credentialSent && (verdict == Verdict.COOL_DOWN || verdict == Verdict.DISABLE)) {
			credentialLost(attempts, key);
			verdict = Verdict.RELAY;
		}
		AttemptOutcome outcome = AttemptOutcome.of(verdict);
		pool.recordAttempt(key, outcome);
		if (credentialSent) {
			pool.observe(key, attempts.modelClass, responseHeaders::getFirst);
		}
		switch (verdict) {
			case COOL_DOWN -> pool.coolDown(key, attempts.modelClass,
					pool.policy()
						.cooldownFor(responseHeaders.getFirst("retry-after-ms"),
								responseHeaders.getFirst(HttpHeaders.RETRY_AFTER), pool.clock().instant()),
					status.value());
			case DISABLE -> pool.disable(key, status.value());
			default -> {
				if (status != null && status.is2xxSuccessful()) {
					pool.rememberSession(attempts.session, key);
					pool.modelClasses().claim(attempts.model);
				}
				attempts.body.release();
				pool.recordPooledRequestCompleted(attempts.attemptCount());
				RequestSpan.of(exchange).attemptRelayed(outcome);
				HttpHeaders headers = exchange.getResponse().getHeaders();
				headers.set(KEY_HEADER, key.id());
				headers.set(ATTEMPTS_HEADER, Integer.toString(attempts.attemptCount()));
				return ResponseRelay.relay(exchange, attempts.binding.dialect(), this.streamIdleTimeout);
			}
		}
		pool.recordFailover(outcome);
		RequestSpan.of(exchange).attemptEnded(outcome);
		return ResponseRelay.discard(exchange, DISCARD_TIMEOUT).then(Mono.defer(() -> attempt(exchange, chain, attempts)));
	}

	/**
	 * The attempt left without the key's credential (a filter after this one removed or changed
	 * it), so its status says nothing about the key: it is relayed and no key is marked. Logged
	 * at WARN once, then at DEBUG: callers must not be able to fill the log with it.
	 */
	private void credentialLost(Attempts attempts, PoolKey key) {
		String message = "Pool '" + attempts.binding.pool().name() + "': an attempt with key '" + key.id()
				+ "' left without its credential (" + ((attempts.credential != null) ? attempts.credential.names() : "")
				+ "), removed or changed by a later filter; its status is relayed and no key is marked";
		if (CREDENTIAL_LOST_LOGGED.compareAndSet(false, true)) {
			logger.warn(message + " (further cases are logged at DEBUG)");
		}
		else {
			logger.debug(message);
		}
	}

	private Mono<Void> exhausted(ServerWebExchange exchange, GatewayFilterChain chain, Attempts attempts) {
		KeyPool pool = attempts.binding.pool();
		Exhaustion exhaustion = pool.exhaustion(attempts.modelClass);
		if (exhaustion instanceof Exhaustion.Transient transientExhaustion) {
			Mono<Void> held = holdAndWalkAgain(exchange, chain, attempts, transientExhaustion);
			if (held != null) {
				return held;
			}
		}
		attempts.body.release();
		pool.recordExhausted(exhaustion);
		RequestSpan.of(exchange).exhausted();
		pool.recordPooledRequestCompleted(attempts.attemptCount());
		String attemptCount = Integer.toString(attempts.attemptCount());
		if (exhaustion instanceof Exhaustion.Transient transientExhaustion) {
			long retryAfter = Math.max(1, transientExhaustion.retryAfterSeconds());
			return GatewayErrors.write(exchange, attempts.binding.dialect(), HttpStatus.TOO_MANY_REQUESTS,
					ErrorKind.RATE_LIMIT, "all configured keys are rate-limited", (headers) -> {
						headers.set(HttpHeaders.RETRY_AFTER, Long.toString(retryAfter));
						headers.set(SHOULD_RETRY_HEADER, "true");
						headers.set(ATTEMPTS_HEADER, attemptCount);
					});
		}
		return GatewayErrors.write(exchange, attempts.binding.dialect(), HttpStatus.BAD_GATEWAY, ErrorKind.UPSTREAM,
				"all configured keys failed authentication", (headers) -> {
					headers.set(SHOULD_RETRY_HEADER, "false");
					headers.set(ATTEMPTS_HEADER, attemptCount);
				});
	}

	/**
	 * {@code max-wait}: holds a request whose class is exhausted but whose soonest key is back
	 * within the wait left, on a timer (no thread, no upstream connection), then walks again.
	 * {@code null} when the request is not to be held.
	 */
	private Mono<Void> holdAndWalkAgain(ServerWebExchange exchange, GatewayFilterChain chain, Attempts attempts,
			Exhaustion.Transient exhaustion) {
		KeyPool pool = attempts.binding.pool();
		Duration maxWait = pool.scheduling().maxWait();
		if (maxWait.isZero()) {
			return null;
		}
		Instant now = pool.clock().instant();
		if (attempts.waitDeadline == null) {
			attempts.waitDeadline = now.plus(maxWait);
		}
		Duration wait = exhaustion.retryAfter().compareTo(MIN_HOLD) < 0 ? MIN_HOLD : exhaustion.retryAfter();
		if (now.plus(wait).isAfter(attempts.waitDeadline) || attempts.holds >= MAX_HOLDS) {
			if (attempts.holds > 0) {
				pool.recordWait(WaitOutcome.TIMED_OUT);
			}
			return null;
		}
		if (!pool.startWaiting()) {
			pool.recordWait(WaitOutcome.REJECTED);
			return null;
		}
		attempts.holds++;
		AtomicBoolean ended = new AtomicBoolean();
		return Mono.delay(wait, this.waitTimers.scheduler())
			.doOnCancel(() -> {
				if (ended.compareAndSet(false, true)) {
					pool.endWaiting(WaitOutcome.CANCELLED);
				}
			})
			.then(Mono.defer(() -> {
				if (ended.compareAndSet(false, true)) {
					pool.endWaiting(WaitOutcome.SERVED);
				}
				attempts.walkAgain();
				return attempt(exchange, chain, attempts);
			}));
	}

	/** Not the key's fault: no mark, no failover; the caller learns what happened. */
	private Mono<Void> networkFailure(ServerWebExchange exchange, Attempts attempts, PoolKey key, Throwable error) {
		KeyPool pool = attempts.binding.pool();
		pool.recordAttempt(key, AttemptOutcome.NETWORK_ERROR);
		RequestSpan.of(exchange).attemptFailed(error);
		pool.recordPooledRequestCompleted(attempts.attemptCount());
		attempts.body.release();
		String attemptCount = Integer.toString(attempts.attemptCount());
		return upstreamFailure(exchange, attempts.binding, error, (headers) -> {
			headers.set(KEY_HEADER, key.id());
			headers.set(ATTEMPTS_HEADER, attemptCount);
		});
	}

	private Mono<Void> upstreamFailure(ServerWebExchange exchange, PoolBinding binding, Throwable error,
			Consumer<HttpHeaders> headers) {
		if (isTimeout(error)) {
			logger.debug("Upstream timed out", error);
			return GatewayErrors.write(exchange, binding.dialect(), HttpStatus.GATEWAY_TIMEOUT, ErrorKind.TIMEOUT,
					"upstream did not respond in time", headers);
		}
		logger.debug("Upstream request failed", error);
		return GatewayErrors.write(exchange, binding.dialect(), HttpStatus.BAD_GATEWAY, ErrorKind.UPSTREAM,
				"upstream connection failed", headers);
	}

	private Mono<Void> requestTooLarge(ServerWebExchange exchange, PoolBinding binding) {
		return GatewayErrors.write(exchange, binding.dialect(), HttpStatus.PAYLOAD_TOO_LARGE,
				ErrorKind.REQUEST_TOO_LARGE, "request body exceeds the gateway limit of "
						+ this.maxRequestBodyBytes + " bytes");
	}

	/**
	 * 408, and the connection closed after it (RFC 9110 §15.5.9): the rest of a body that
	 * stalled is not waited for.
	 */
	private Mono<Void> requestTimeout(ServerWebExchange exchange, PoolBinding binding) {
		return GatewayErrors.write(exchange, binding.dialect(), HttpStatus.REQUEST_TIMEOUT, ErrorKind.REQUEST_TIMEOUT,
				"request body did not arrive within " + ResponseRelay.seconds(this.requestBodyTimeout),
				(headers) -> headers.set(HttpHeaders.CONNECTION, "close"));
	}

	private Mono<Void> overloaded(ServerWebExchange exchange, PoolBinding binding) {
		return GatewayErrors.write(exchange, binding.dialect(), HttpStatus.SERVICE_UNAVAILABLE, ErrorKind.OVERLOADED,
				"the gateway is holding too many request bodies; retry shortly",
				(headers) -> headers.set(HttpHeaders.RETRY_AFTER, "1"));
	}

	private static boolean isTimeout(Throwable error) {
		for (Throwable t = error; t != null; t = t.getCause()) {
			if (t instanceof TimeoutException || t instanceof ReadTimeoutException
					|| (t instanceof ResponseStatusException rse && rse.getStatusCode().value() == 504)) {
				return true;
			}
		}
		return false;
	}

	/** What one request carries from attempt to attempt. */
	private static final class Attempts {

		private final PoolBinding binding;

		private final CachedBody body;

		private KeyWalker walker;

		private HttpHeaders baseHeaders;

		private boolean planned;

		/** The top-level fields of the request's body, parsed once. */
		private final RequestFields fields;

		/** The request's model id (from the path or the body), cleaned, or {@code null}. */
		private String model;

		/** The request's model class, from its model, read once. */
		private String modelClass = ModelClasses.KEY_WIDE;

		/** The caller's session id, or {@code null}. */
		private String session;

		/** Upstream attempts of the walks before the current one (a held request walks again). */
		private int earlierAttempts;

		private int holds;

		private Instant waitDeadline;

		/** What the current attempt's key set, and whether it went out. */
		private OutgoingCredential credential;

		Attempts(PoolBinding binding, CachedBody body, RequestFields fields, KeyWalker walker) {
			this.binding = binding;
			this.body = body;
			this.fields = fields;
			this.walker = walker;
		}

		/**
		 * Once per request, before the first attempt: the model class from the path's model or
		 * the body's (parsed once, before the budget check), the session, and a walk in the
		 * pool's order for them.
		 */
		void plan(ServerWebExchange exchange) {
			if (this.planned) {
				return;
			}
			this.planned = true;
			KeyPool pool = this.binding.pool();
			String model = CallerText.model(
					this.binding.dialect().modelFromPath(exchange.getRequest().getURI().getRawPath()));
			this.model = (model != null) ? model : this.fields.model();
			this.modelClass = pool.modelClassOf(this.model);
			UsageAccounting.modelClass(exchange, this.modelClass);
			RequestSpan.of(exchange).model(this.model, this.modelClass);
			this.session = CallerText.sessionId(
					exchange.getRequest().getHeaders().getFirst(pool.scheduling().sessionHeader()));
			this.walker = pool.walker(this.modelClass, this.session);
		}

		/** After a hold: a fresh walk, which may try the keys of the previous one again. */
		void walkAgain() {
			this.earlierAttempts += this.walker.attempts();
			this.walker = this.binding.pool().walker(this.modelClass, this.session);
		}

		int attemptCount() {
			return this.earlierAttempts + this.walker.attempts();
		}

		/**
		 * The caller's request with the caller's credentials replaced by what the key adds
		 * (its header, a fresh signature, an access token and the key's own path), and the
		 * cached body.
		 */
		Mono<ServerHttpRequest> requestFor(ServerWebExchange exchange, PoolKey key) {
			ServerHttpRequest original = exchange.getRequest();
			if (this.baseHeaders == null) {
				this.baseHeaders = withoutCredentials(original.getHeaders(), this.body.size(),
						this.binding.dialect().credentialHeaders());
			}
			KeyAuthorizer authorizer = this.binding.authorizer(key);
			return Mono.defer(() -> Mono.fromCompletionStage(authorizer.authorize(attemptRequest(exchange))))
				.map((authorized) -> {
					this.credential = OutgoingCredential.expect(exchange, authorized.headers());
					return authorizedRequest(original, authorized);
				});
		}

		private AttemptRequest attemptRequest(ServerWebExchange exchange) {
			ServerHttpRequest original = exchange.getRequest();
			Route route = exchange.getAttribute(ServerWebExchangeUtils.GATEWAY_ROUTE_ATTR);
			URI upstream = (route != null) ? route.getUri() : original.getURI();
			CachedBody cached = this.body;
			return new AttemptRequest(original.getMethod().name(), upstream.getScheme(), upstream.getHost(),
					upstream.getPort(), original.getURI().getRawPath(), original.getURI().getRawQuery(),
					cached::openStream);
		}

		private ServerHttpRequest authorizedRequest(ServerHttpRequest original, Authorized authorized) {
			HttpHeaders headers = new HttpHeaders();
			headers.putAll(this.baseHeaders);
			authorized.headers().forEach(headers::set);
			HttpHeaders readOnly = HttpHeaders.readOnlyHttpHeaders(headers);
			CachedBody cached = this.body;
			ServerHttpRequest routed = Objects.equals(authorized.rawPath(), original.getURI().getRawPath()) ? original
					: original.mutate().path(authorized.rawPath()).build();
			return new ServerHttpRequestDecorator(routed) {

				@Override
				public HttpHeaders getHeaders() {
					return readOnly;
				}

				@Override
				public Flux<DataBuffer> getBody() {
					return cached.replay();
				}

			};
		}

		private static HttpHeaders withoutCredentials(HttpHeaders callerHeaders, int bodySize,
				Set<String> credentialHeaders) {
			HttpHeaders headers = new HttpHeaders();
			headers.putAll(callerHeaders);
			// first: what Connection lists must not later take away a header the key sets
			HopByHopHeaders.remove(headers);
			headers.remove(CallerResolver.API_KEY_HEADER);
			headers.remove(HttpHeaders.AUTHORIZATION);
			credentialHeaders.forEach(headers::remove);
			headers.remove(HttpHeaders.CONTENT_LENGTH);
			headers.remove(HttpHeaders.TRANSFER_ENCODING);
			if (bodySize > 0) {
				headers.setContentLength(bodySize);
			}
			return headers;
		}

	}

	/** A key's authorizer failed before anything was sent. */
	private static final class AuthorizationFailed extends RuntimeException {

		AuthorizationFailed(Throwable cause) {
			super(null, cause, false, false);
		}

	}

	private record AttemptResult(Throwable error) {

		static final AttemptResult RESPONDED = new AttemptResult(null);

	}

	/** {@code KeyFailover=<pool>}. */
	public static class Config {

		private String pool;

		public String getPool() {
			return this.pool;
		}

		public Config setPool(String pool) {
			this.pool = pool;
			return this;
		}

		void validate(Set<String> knownPools) {
			Assert.hasText(this.pool, "KeyFailover needs a pool name (KeyFailover=<pool>)");
			Assert.isTrue(knownPools.contains(this.pool),
					() -> "KeyFailover names unknown pool '" + this.pool + "' (configured: " + knownPools + ")");
		}

	}

}
