package dev.keypool.tracing;

import java.util.Map;

import io.micrometer.common.KeyValue;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.contextpropagation.ObservationThreadLocalAccessor;
import io.micrometer.tracing.Span;
import io.micrometer.tracing.handler.TracingObservationHandler;
import reactor.core.publisher.SignalType;
import reactor.util.context.Context;
import reactor.util.context.ContextView;

import dev.keypool.pool.AttemptOutcome;

import org.springframework.cloud.gateway.support.ServerWebExchangeUtils;
import org.springframework.web.server.ServerWebExchange;

/**
 * The span of one pooled request and of its current upstream attempt, reachable from the
 * exchange with {@link #of(ServerWebExchange)}; every method is a no-op when tracing is off.
 * <p>
 * The request span ends when the response has been written (a stream when it ends), when the
 * request fails, or when the caller goes away; the attempt whose response is relayed ends with
 * it, the others when they are classified. Components that learn something late, such as the
 * token usage of a stream, add it here before the request ends.
 * <p>
 * {@code keypool.outcome} of an attempt is the {@code outcome} tag of
 * {@code keypool_upstream_attempts_total} ({@code success}, {@code rate_limited},
 * {@code auth_failed}, {@code relayed_error}, {@code network_error}), or {@code cancelled} when
 * the caller left before the attempt was classified. Of the request: the outcome of the attempt
 * that was relayed, or {@code exhausted} (the gateway answered 429/502 for the pool),
 * {@code rejected} (no attempt: body too large, memory budget), {@code cancelled} (the caller
 * left) or {@code error}.
 */
public final class RequestSpan {

	/** The exchange attribute that holds the request's span while tracing is on. */
	public static final String EXCHANGE_ATTRIBUTE = RequestSpan.class.getName();

	static final String EXHAUSTED = "exhausted";

	static final String REJECTED = "rejected";

	static final String CANCELLED = "cancelled";

	static final String ERROR = "error";

	private static final RequestSpan NONE = new RequestSpan();

	private final ObservationRegistry registry;

	private final Map<String, Object> attributes;

	private final ContextView routeContext;

	private final PooledRequestContext context;

	private final Observation observation;

	private Observation attempt;

	private AttemptContext attemptContext;

	private int attempts;

	private long inputTokens = -1;

	private long outputTokens = -1;

	private boolean ended;

	private RequestSpan() {
		this.registry = null;
		this.attributes = null;
		this.routeContext = null;
		this.context = null;
		this.observation = null;
	}

	private RequestSpan(ObservationRegistry registry, ServerWebExchange exchange, String pool, String provider) {
		this.registry = registry;
		this.attributes = exchange.getAttributes();
		this.routeContext = exchange.getAttribute(ServerWebExchangeUtils.GATEWAY_REACTOR_CONTEXT_ATTR);
		this.context = new PooledRequestContext(pool, provider);
		this.observation = Observation.createNotStarted(null, PooledRequestConvention.DEFAULT, () -> this.context,
				registry);
		Observation server = (this.routeContext != null)
				? this.routeContext.getOrDefault(ObservationThreadLocalAccessor.KEY, null) : null;
		if (server != null) {
			this.observation.parentObservation(server);
		}
	}

	/** Starts the span of a pooled request and makes it reachable from the exchange. */
	static RequestSpan start(ObservationRegistry registry, ServerWebExchange exchange, String pool, String provider) {
		RequestSpan span = new RequestSpan(registry, exchange, pool, provider);
		span.observation.start();
		exchange.getAttributes().put(EXCHANGE_ATTRIBUTE, span);
		return span;
	}

	/** The request's span, or one that records nothing (tracing off, BYOK, not a pooled route). */
	public static RequestSpan of(ServerWebExchange exchange) {
		RequestSpan span = exchange.getAttribute(EXCHANGE_ATTRIBUTE);
		return (span != null) ? span : NONE;
	}

	/** Whether this span records anything. */
	public boolean isRecording() {
		return this != NONE;
	}

	/**
	 * The model the caller asked for: reported as {@code gen_ai.request.model} only if it looks
	 * like a model id (bounded length and characters), and the pool's class as
	 * {@code keypool.model_class}.
	 */
	public synchronized void model(String model, String modelClass) {
		if (this == NONE || this.ended) {
			return;
		}
		this.context.setModel(TracingAttributes.boundedModel(model), modelClass);
	}

	/**
	 * Token usage of the response, as {@code gen_ai.usage.input_tokens} and
	 * {@code gen_ai.usage.output_tokens}; a negative count is not reported. Ignored once the
	 * request span has ended, so call it before the response completes.
	 */
	public synchronized void usage(long inputTokens, long outputTokens) {
		if (this == NONE || this.ended) {
			return;
		}
		this.inputTokens = inputTokens;
		this.outputTokens = outputTokens;
	}

	/**
	 * An upstream attempt with key {@code keyId} starts (1-based {@code number}). Spring Cloud
	 * Gateway's {@code http.client.requests} span of that attempt becomes its child.
	 */
	public synchronized void attemptStarted(String keyId, int number) {
		if (this == NONE || this.ended) {
			return;
		}
		endAttempt(CANCELLED, null);
		this.attempts = number;
		AttemptContext attemptContext = new AttemptContext(this.context, keyId, number);
		Observation attempt = Observation.createNotStarted(null, AttemptConvention.DEFAULT, () -> attemptContext,
				this.registry);
		attempt.parentObservation(this.observation);
		attempt.start();
		setCount(attemptContext, TracingAttributes.ATTEMPT, number);
		this.attempt = attempt;
		this.attemptContext = attemptContext;
		if (!attempt.isNoop()) {
			// Spring Cloud Gateway takes the parent of its client observation from this attribute.
			Context routeContext = (this.routeContext != null) ? Context.of(this.routeContext) : Context.empty();
			this.attributes.put(ServerWebExchangeUtils.GATEWAY_REACTOR_CONTEXT_ATTR,
					routeContext.put(ObservationThreadLocalAccessor.KEY, attempt));
		}
	}

	/** The current attempt was classified and the request moves on (to the next key or to exhaustion). */
	public synchronized void attemptEnded(AttemptOutcome outcome) {
		if (this == NONE || this.ended) {
			return;
		}
		endAttempt(outcome.tagValue(), null);
	}

	/**
	 * The current attempt's response goes to the caller: the request takes its outcome and
	 * key, and the attempt span stays open until the response has been written.
	 */
	public synchronized void attemptRelayed(AttemptOutcome outcome) {
		if (this == NONE || this.ended || this.attemptContext == null) {
			return;
		}
		this.attemptContext.setOutcome(outcome.tagValue());
		this.context.setKeyId(this.attemptContext.getKeyId());
		this.context.setOutcome(outcome.tagValue());
	}

	/** The current attempt failed without a response (connection, timeout); the caller gets the gateway's error. */
	public synchronized void attemptFailed(Throwable error) {
		if (this == NONE || this.ended || this.attemptContext == null) {
			return;
		}
		this.context.setKeyId(this.attemptContext.getKeyId());
		this.context.setOutcome(AttemptOutcome.NETWORK_ERROR.tagValue());
		endAttempt(AttemptOutcome.NETWORK_ERROR.tagValue(), error);
	}

	/** No key was left for the request; the gateway answers for the pool. */
	public synchronized void exhausted() {
		if (this == NONE || this.ended) {
			return;
		}
		this.context.setOutcome(EXHAUSTED);
	}

	/**
	 * Ends the attempt still open and the request span: {@code signal} is how the request's
	 * processing ended, {@code error} what it failed with, if it did.
	 */
	synchronized void end(SignalType signal, Throwable error) {
		if (this == NONE || this.ended) {
			return;
		}
		boolean cancelled = signal == SignalType.CANCEL;
		endAttempt(CANCELLED, null);
		this.ended = true;
		if (cancelled) {
			this.context.setOutcome(CANCELLED);
		}
		else if (error != null) {
			this.context.setOutcome(ERROR);
			this.observation.error(error);
		}
		else if (this.context.getOutcome() == null) {
			this.context.setOutcome((this.attempts == 0) ? REJECTED : ERROR);
		}
		setCount(this.context, TracingAttributes.ATTEMPTS, this.attempts);
		if (this.inputTokens >= 0) {
			setCount(this.context, TracingAttributes.USAGE_INPUT_TOKENS, this.inputTokens);
		}
		if (this.outputTokens >= 0) {
			setCount(this.context, TracingAttributes.USAGE_OUTPUT_TOKENS, this.outputTokens);
		}
		this.observation.stop();
		if (this.routeContext != null) {
			this.attributes.put(ServerWebExchangeUtils.GATEWAY_REACTOR_CONTEXT_ATTR, this.routeContext);
		}
		this.attributes.remove(EXCHANGE_ATTRIBUTE, this);
	}

	/** Ends the open attempt, with {@code outcome} unless it already has one. */
	private void endAttempt(String outcome, Throwable error) {
		if (this.attempt == null) {
			return;
		}
		if (this.attemptContext.getOutcome() == null) {
			this.attemptContext.setOutcome(outcome);
		}
		if (error != null) {
			this.attempt.error(error);
		}
		this.attempt.stop();
		this.attempt = null;
	}

	/**
	 * Counts are integers in the conventions; observation key values are strings, so they go
	 * to the span directly, or to the observation as text when no tracer handles it.
	 */
	private static void setCount(Observation.Context context, String key, long value) {
		TracingObservationHandler.TracingContext tracing = context.get(TracingObservationHandler.TracingContext.class);
		Span span = (tracing != null) ? tracing.getSpan() : null;
		if (span != null) {
			span.tag(key, value);
		}
		else {
			context.addHighCardinalityKeyValue(KeyValue.of(key, Long.toString(value)));
		}
	}

}
