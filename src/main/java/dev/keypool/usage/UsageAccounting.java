package dev.keypool.usage;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.ByteBuf;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import reactor.core.publisher.Flux;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.ModelClasses;

import org.springframework.http.HttpHeaders;
import org.springframework.web.server.ServerWebExchange;

/**
 * Token accounting: counts the {@code usage} of every relayed response, pooled and BYOK, into
 * {@code keypool.tokens{pool,key,client,model_class,type}} (Prometheus:
 * {@code keypool_tokens_total}), tells the {@link UsageListener}s, and leaves the count on the
 * exchange as {@link CountedUsage#ATTRIBUTE}.
 * <p>
 * The response is read as it passes ({@link UsageScanner}); nothing is held or parsed twice.
 * Labels are bounded: pool and key ids come from configuration, client ids from configuration
 * plus {@code anonymous} and {@code byok}, model classes from the pool's own
 * {@link ModelClasses} for pooled traffic and from a second table per pool for BYOK traffic,
 * which chooses its models freely and must not take the pool's class names.
 */
public class UsageAccounting {

	/** The key label of traffic on a caller's own key. */
	public static final String BYOK = "byok";

	static final String TOKENS = "keypool.tokens";

	private static final Log logger = LogFactory.getLog(UsageAccounting.class);

	private final MeterRegistry registry;

	private final List<UsageListener> listeners;

	private final Map<String, ModelClasses> byokClasses = new ConcurrentHashMap<>();

	private final Map<Labels, Counter[]> counters = new ConcurrentHashMap<>();

	public UsageAccounting(MeterRegistry registry, List<UsageListener> listeners) {
		this.registry = registry;
		this.listeners = List.copyOf(listeners);
	}

	/**
	 * Starts accounting for a request: the caller is known, the response not yet. Kept on the
	 * exchange for {@link #meter}.
	 *
	 * @param client the caller's client id ({@code anonymous}, {@code byok} included)
	 * @param ownKey whether the caller brought its own key
	 */
	public void begin(ServerWebExchange exchange, KeyPool pool, String client, boolean ownKey) {
		exchange.getAttributes().put(RequestUsage.ATTRIBUTE, new RequestUsage(this, pool, client, ownKey));
	}

	/** The pooled request's model class, read from its body before the first attempt. */
	public static void modelClass(ServerWebExchange exchange, String modelClass) {
		RequestUsage request = exchange.getAttribute(RequestUsage.ATTRIBUTE);
		if (request != null) {
			request.modelClass = modelClass;
		}
	}

	/**
	 * The pooled request's top-level {@code max_tokens} (negative when absent), read from its
	 * body before the first attempt: what a stream that ends before its final usage is charged
	 * for output.
	 */
	public static void maxTokens(ServerWebExchange exchange, long maxTokens) {
		RequestUsage request = exchange.getAttribute(RequestUsage.ATTRIBUTE);
		if (request != null) {
			request.maxTokens = maxTokens;
		}
	}

	/**
	 * The caller went away while its response was being written: Reactor Netty then completes
	 * the exchange as if it had ended, so the access log learns it here.
	 */
	public static void callerLeft(ServerWebExchange exchange) {
		RequestUsage request = exchange.getAttribute(RequestUsage.ATTRIBUTE);
		if (request != null) {
			request.callerLeft = true;
		}
	}

	/**
	 * The relayed response body, unchanged, with its usage counted when it ends (complete,
	 * error or cancel alike; a cut stream counts what arrived). Buffers are only read, never
	 * retained or released here.
	 *
	 * @param key the key id that produced the response ({@code null} for BYOK)
	 */
	public static Flux<ByteBuf> meter(ServerWebExchange exchange, Flux<ByteBuf> body, String key) {
		RequestUsage request = exchange.getAttribute(RequestUsage.ATTRIBUTE);
		if (request == null) {
			return body;
		}
		HttpHeaders headers = exchange.getResponse().getHeaders();
		ResponseMeter meter = ResponseMeter.of(headers, isBatchResults(exchange.getRequest().getURI().getRawPath()));
		if (meter == null) {
			return body;
		}
		// Counted before the end is passed on (not in doFinally), so the charge is in place before
		// the gateway completes the response. The upstream's end can still trail the last body
		// byte by a moment, and a caller that stops reading at Content-Length may be that quick.
		Runnable finish = () -> {
			if (meter.end()) {
				request.accounting.finish(exchange, request, meter.scanner(), key);
			}
		};
		return body.doOnNext(meter::read).doOnTerminate(finish).doOnCancel(finish);
	}

	/**
	 * Whether the path asks for Message Batches results ({@code .../messages/batches/<id>/results}),
	 * JSON Lines with the usage of each result; each fetch of them is counted.
	 */
	static boolean isBatchResults(String path) {
		if (path == null || !path.endsWith("/results")) {
			return false;
		}
		int batches = path.lastIndexOf("/messages/batches/");
		if (batches < 0) {
			return false;
		}
		String id = path.substring(batches + "/messages/batches/".length(), path.length() - "/results".length());
		return !id.isEmpty() && id.indexOf('/') < 0;
	}

	private void finish(ServerWebExchange exchange, RequestUsage request, UsageScanner scanner, String key) {
		request.model = scanner.model();
		if (!scanner.found()) {
			return;
		}
		KeyPool pool = request.pool;
		String modelClass = request.ownKey
				? this.byokClasses.computeIfAbsent(pool.name(), (name) -> new ModelClasses()).claim(scanner.model())
				: request.modelClass;
		TokenUsage tokens = scanner.usage();
		CountedUsage counted = new CountedUsage(pool.name(), request.ownKey ? BYOK : key, request.client, modelClass,
				tokens, charged(tokens, scanner, request.maxTokens));
		exchange.getAttributes().put(CountedUsage.ATTRIBUTE, counted);
		count(counted);
		for (UsageListener listener : this.listeners) {
			try {
				listener.counted(exchange, counted);
			}
			catch (RuntimeException ex) {
				logger.warn("Usage listener failed: " + ex.getClass().getName());
			}
		}
	}

	/**
	 * What the client's budget is charged. A stream that ended before its final usage (the
	 * caller left, the upstream broke or went idle) reported only its input and the first
	 * output token, while any number of tokens up to {@code max_tokens} may have been relayed:
	 * its output is charged as {@code max_tokens}, so the charge is never below what was relayed.
	 */
	static long charged(TokenUsage tokens, UsageScanner scanner, long maxTokens) {
		if (!scanner.isEventStream() || scanner.finalUsage() || maxTokens <= 0) {
			return tokens.charged();
		}
		return tokens.input() + tokens.cacheCreation() + Math.max(tokens.output(), maxTokens);
	}

	private void count(CountedUsage counted) {
		Counter[] byType = this.counters.computeIfAbsent(
				new Labels(counted.pool(), counted.key(), counted.client(), counted.modelClass()), this::register);
		TokenUsage tokens = counted.tokens();
		byType[0].increment(tokens.input());
		byType[1].increment(tokens.output());
		byType[2].increment(tokens.cacheRead());
		byType[3].increment(tokens.cacheCreation());
	}

	private Counter[] register(Labels labels) {
		String[] types = { "input", "output", "cache_read", "cache_creation" };
		Counter[] counters = new Counter[types.length];
		for (int i = 0; i < types.length; i++) {
			counters[i] = Counter.builder(TOKENS)
				.description("Tokens reported by the provider's responses, by type: input (uncached), output, "
						+ "cache_read and cache_creation (prompt cache reads and writes, priced differently)")
				.baseUnit("tokens")
				.tag("pool", labels.pool())
				.tag("key", (labels.key() != null) ? labels.key() : "unknown")
				.tag("client", labels.client())
				.tag("model_class", labels.modelClass())
				.tag("type", types[i])
				.register(this.registry);
		}
		return counters;
	}

	private record Labels(String pool, String key, String client, String modelClass) {
	}

	/** What is known of a request before its response: kept on the exchange. */
	static final class RequestUsage {

		static final String ATTRIBUTE = RequestUsage.class.getName();

		final UsageAccounting accounting;

		final KeyPool pool;

		final String client;

		final boolean ownKey;

		volatile String modelClass = ModelClasses.KEY_WIDE;

		/** The caller went away before its response was written whole. */
		volatile boolean callerLeft;

		/** The request body's top-level {@code max_tokens}, negative when absent or not read. */
		volatile long maxTokens = -1;

		/** The model the provider's response named (at most 64 bytes), once it ended. */
		volatile String model;

		RequestUsage(UsageAccounting accounting, KeyPool pool, String client, boolean ownKey) {
			this.accounting = accounting;
			this.pool = pool;
			this.client = client;
			this.ownKey = ownKey;
		}

	}

}
