package dev.keypool.usage;

import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;
import reactor.core.publisher.Mono;
import reactor.core.publisher.SignalType;

import dev.keypool.pool.CallerText;

import org.springframework.cloud.gateway.filter.GatewayFilterChain;
import org.springframework.cloud.gateway.filter.GlobalFilter;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.web.server.ServerWebExchange;

/**
 * {@code keypool.access-log}: one INFO line per request on a {@code KeyFailover} route when
 * it ends, as {@code key=value} pairs in the message and as SLF4J key-value pairs (structured
 * logging formats such as ECS or Logstash show them as fields): client, pool, key, attempts,
 * status, model, model class, tokens, duration and the caller's session id (the pool's
 * {@code session-header}, {@code x-claude-code-session-id} by default).
 * <p>
 * Never a token or secret: the client is its configured id; the key its id. Every value is
 * made of {@code [A-Za-z0-9._:@/-]} (anything else becomes {@code _}), so no value can end the
 * line, colour it or forge a pair: the model (from the provider's response) and the key id are
 * cut to 64 characters; the session id is the one {@link CallerText#sessionId} gives the pool,
 * absent when it is too long to be used; the model class is a cleaned class name.
 */
public class AccessLog implements GlobalFilter, Ordered {

	private static final Logger logger = LoggerFactory.getLogger(AccessLog.class);

	private static final int MAX_VALUE = 64;

	private final String keyHeader;

	private final String attemptsHeader;

	/**
	 * @param keyHeader response header naming the key that served a pooled request
	 * @param attemptsHeader response header counting a pooled request's attempts
	 */
	public AccessLog(String keyHeader, String attemptsHeader) {
		this.keyHeader = keyHeader;
		this.attemptsHeader = attemptsHeader;
	}

	@Override
	public int getOrder() {
		return Ordered.HIGHEST_PRECEDENCE;
	}

	@Override
	public Mono<Void> filter(ServerWebExchange exchange, GatewayFilterChain chain) {
		long start = System.nanoTime();
		return chain.filter(exchange).doFinally((signal) -> log(exchange, signal, start));
	}

	private void log(ServerWebExchange exchange, SignalType signal, long start) {
		UsageAccounting.RequestUsage request = exchange.getAttribute(UsageAccounting.RequestUsage.ATTRIBUTE);
		if (request == null || !logger.isInfoEnabled()) {
			return;
		}
		HttpHeaders response = exchange.getResponse().getHeaders();
		HttpStatusCode status = exchange.getResponse().getStatusCode();
		CountedUsage counted = exchange.getAttribute(CountedUsage.ATTRIBUTE);
		TokenUsage tokens = (counted != null) ? counted.tokens() : TokenUsage.NONE;
		String key = request.ownKey ? UsageAccounting.BYOK : response.getFirst(this.keyHeader);
		Line line = new Line(logger.atInfo());
		line.add("client", request.client)
			.add("pool", request.pool.name())
			.add("key", (key != null) ? safe(key) : "-")
			.add("attempts", orDash(response.getFirst(this.attemptsHeader)))
			.add("status", (status != null) ? Integer.toString(status.value()) : "-")
			.add("model", (request.model != null) ? safe(request.model) : "-")
			.add("model_class", safe((counted != null) ? counted.modelClass() : request.modelClass))
			.add("input_tokens", tokens.input())
			.add("output_tokens", tokens.output())
			.add("cache_read_tokens", tokens.cacheRead())
			.add("cache_creation_tokens", tokens.cacheCreation())
			.add("duration_ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
		String session = CallerText
			.sessionId(exchange.getRequest().getHeaders().getFirst(request.pool.scheduling().sessionHeader()));
		if (session != null) {
			line.add("session", safe(session, CallerText.MAX_SESSION_ID_LENGTH));
		}
		if (signal == SignalType.CANCEL || request.callerLeft) {
			line.add("cancelled", "true");
		}
		line.log();
	}

	private static String orDash(String value) {
		return (value != null) ? safe(value) : "-";
	}

	/** At most {@value #MAX_VALUE} characters, each outside {@code [A-Za-z0-9._:@/-]} replaced by {@code _}. */
	static String safe(String value) {
		return safe(value, MAX_VALUE);
	}

	private static String safe(String value, int maxLength) {
		int length = Math.min(value.length(), maxLength);
		StringBuilder out = new StringBuilder(length);
		for (int i = 0; i < length; i++) {
			char c = value.charAt(i);
			boolean plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
					|| c == '_' || c == ':' || c == '@' || c == '/' || c == '-';
			out.append(plain ? c : '_');
		}
		return out.toString();
	}

	/** Builds the message and the key-value pairs together. */
	private static final class Line {

		private final LoggingEventBuilder event;

		private final StringBuilder message = new StringBuilder("access");

		Line(LoggingEventBuilder event) {
			this.event = event;
		}

		Line add(String name, Object value) {
			this.event.addKeyValue(name, value);
			this.message.append(' ').append(name).append('=').append(value);
			return this;
		}

		void log() {
			this.event.log(this.message.toString());
		}

	}

}
