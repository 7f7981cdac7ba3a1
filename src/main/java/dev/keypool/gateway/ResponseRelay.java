package dev.keypool.gateway;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.SignalType;
import reactor.netty.Connection;

import dev.keypool.provider.ErrorKind;
import dev.keypool.provider.ProviderDialect;
import dev.keypool.usage.UsageAccounting;

import org.springframework.cloud.gateway.support.ServerWebExchangeUtils;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferFactory;
import org.springframework.core.io.buffer.NettyDataBufferFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.server.ServerWebExchange;

/**
 * Writes the chosen upstream response to the client, in place of Spring Cloud Gateway's
 * {@code NettyWriteResponseFilter}: it takes the upstream connection out of the exchange so
 * that filter finds nothing left to write.
 * <p>
 * Doing it here lets a stream that breaks after its first byte end with the provider's
 * {@code event: error} frame instead of a cut connection. Event streams are flushed chunk by
 * chunk as they arrive; nothing is buffered.
 */
final class ResponseRelay {

	private static final Log logger = LogFactory.getLog(ResponseRelay.class);

	static final String STREAM_BROKEN_MESSAGE = "upstream connection closed before the stream ended";

	/** An event larger than this is relayed unaligned rather than held without bound. */
	private static final int MAX_PENDING_EVENT_BYTES = 1024 * 1024;

	/** The binary stream format of Amazon Bedrock's streaming responses. */
	static final MediaType AMAZON_EVENT_STREAM = MediaType.parseMediaType("application/vnd.amazon.eventstream");

	/** The event-stream format's largest message (16 MB of payload plus headers and framing). */
	private static final int MAX_EVENT_STREAM_MESSAGE_BYTES = 16 * 1024 * 1024 + 128 * 1024 + 16;

	private ResponseRelay() {
	}

	static Mono<Void> relay(ServerWebExchange exchange, ProviderDialect dialect, Duration streamIdleTimeout) {
		Connection connection = exchange.getAttribute(ServerWebExchangeUtils.CLIENT_RESPONSE_CONN_ATTR);
		if (connection == null) {
			return Mono.empty();
		}
		exchange.getAttributes().remove(ServerWebExchangeUtils.CLIENT_RESPONSE_CONN_ATTR);
		ServerHttpResponse response = exchange.getResponse();
		Flux<ByteBuf> received = UsageAccounting.meter(exchange, connection.inbound().receive().retain(),
				response.getHeaders().getFirst(KeyFailoverGatewayFilterFactory.KEY_HEADER));
		Mono<Void> write;
		if (isEventStream(response)) {
			write = writeAligned(exchange, received, new EventAligner(MAX_PENDING_EVENT_BYTES), connection, dialect,
					streamIdleTimeout);
		}
		else if (isAmazonEventStream(response)) {
			write = writeAligned(exchange, received, new EventStreamAligner(MAX_EVENT_STREAM_MESSAGE_BYTES),
					connection, dialect, streamIdleTimeout);
		}
		else {
			// JSON too: an upstream that sent its headers and then nothing must not hold the caller
			write = response.writeWith(received.timeout(streamIdleTimeout)
				// a chunk that arrives as the timeout fires is dropped by it: released, not leaked
				.doOnDiscard(ByteBuf.class, ReferenceCountUtil::safeRelease)
				.map((buf) -> wrap(buf, response.bufferFactory()))
				.doOnCancel(() -> UsageAccounting.callerLeft(exchange)));
		}
		return write.doFinally((signal) -> {
			if (signal != SignalType.ON_COMPLETE) {
				connection.dispose();
			}
		}).onErrorResume((ex) -> ex instanceof TimeoutException && !response.isCommitted(), (ex) -> {
			// nothing reached the caller yet: it gets the provider's 504 instead of a cut connection
			logger.debug("Upstream response sent nothing for " + seconds(streamIdleTimeout) + " after its headers");
			return GatewayErrors.write(exchange, dialect, HttpStatus.GATEWAY_TIMEOUT, ErrorKind.TIMEOUT,
					"upstream response sent nothing for " + seconds(streamIdleTimeout));
		});
	}

	/**
	 * Relays whole frames only (SSE events, event-stream messages), each flushed as it arrives.
	 * A stream that breaks, ends inside a frame, or sends nothing for {@code idleTimeout} ends
	 * with the provider's error frame instead of a cut connection.
	 */
	private static Mono<Void> writeAligned(ServerWebExchange exchange, Flux<ByteBuf> received,
			StreamAligner aligner, Connection connection, ProviderDialect dialect, Duration idleTimeout) {
		ServerHttpResponse response = exchange.getResponse();
		DataBufferFactory factory = response.bufferFactory();
		Flux<ByteBuf> frames = received.timeout(idleTimeout).<ByteBuf>handle((chunk, sink) -> {
			ByteBuf complete = aligner.next(chunk);
			if (complete != null) {
				sink.next(complete);
			}
		}).concatWith(Mono.defer(() -> {
			if (!aligner.endsInsideFrame()) {
				return Mono.empty();
			}
			logger.debug("Upstream stream ended inside a frame; ending it with an error frame");
			return errorFrame(aligner, dialect, STREAM_BROKEN_MESSAGE);
		})).onErrorResume((ex) -> {
			String message = (ex instanceof TimeoutException) ? idleMessage(idleTimeout) : STREAM_BROKEN_MESSAGE;
			logger.debug("Upstream stream failed after the response was committed (" + message
					+ "); ending it with an error frame", ex);
			connection.dispose();
			return errorFrame(aligner, dialect, message);
		}).doFinally((signal) -> aligner.close()).doOnDiscard(ByteBuf.class, ReferenceCountUtil::safeRelease)
			// only the writer cancels what it writes: the caller went away (the server then completes quietly)
			.doOnCancel(() -> UsageAccounting.callerLeft(exchange));
		return response.writeAndFlushWith(frames.map((buf) -> Mono.just(wrap(buf, factory))));
	}

	private static Mono<ByteBuf> errorFrame(StreamAligner aligner, ProviderDialect dialect, String message) {
		byte[] frame = aligner.terminate(dialect.streamErrorEvent(message));
		return (frame != null) ? Mono.just(Unpooled.wrappedBuffer(frame)) : Mono.empty();
	}

	static boolean isAmazonEventStream(ServerHttpResponse response) {
		try {
			MediaType type = response.getHeaders().getContentType();
			return type != null && AMAZON_EVENT_STREAM.isCompatibleWith(type);
		}
		catch (RuntimeException ex) {
			return false;
		}
	}

	static String idleMessage(Duration idleTimeout) {
		return "upstream stream sent nothing for " + seconds(idleTimeout);
	}

	/** {@code 120s}, or {@code 250ms} for a timeout below a whole second. */
	static String seconds(Duration duration) {
		return (duration.toMillis() % 1000 == 0) ? duration.toSeconds() + "s" : duration.toMillis() + "ms";
	}

	/**
	 * Reads and drops a failed attempt's body, so its buffers are released and its connection
	 * goes back to the pool, then clears the attempt from the exchange. A body that does not
	 * end in time gets its connection closed instead.
	 */
	static Mono<Void> discard(ServerWebExchange exchange, Duration timeout) {
		Connection connection = exchange.getAttribute(ServerWebExchangeUtils.CLIENT_RESPONSE_CONN_ATTR);
		Mono<Void> drain = Mono.empty();
		if (connection != null) {
			exchange.getAttributes().remove(ServerWebExchangeUtils.CLIENT_RESPONSE_CONN_ATTR);
			drain = connection.inbound().receive().then().timeout(timeout).onErrorResume((ex) -> {
				connection.dispose();
				return Mono.empty();
			}).doOnCancel(connection::dispose);
		}
		return drain.then(Mono.fromRunnable(() -> ServerWebExchangeUtils.reset(exchange)));
	}

	static boolean isEventStream(ServerHttpResponse response) {
		try {
			MediaType type = response.getHeaders().getContentType();
			return type != null && MediaType.TEXT_EVENT_STREAM.isCompatibleWith(type);
		}
		catch (RuntimeException ex) {
			return false;
		}
	}

	private static DataBuffer wrap(ByteBuf buf, DataBufferFactory factory) {
		if (factory instanceof NettyDataBufferFactory netty) {
			return netty.wrap(buf);
		}
		DataBuffer copy = factory.allocateBuffer(buf.readableBytes());
		copy.write(buf.nioBuffer());
		buf.release();
		return copy;
	}

}
