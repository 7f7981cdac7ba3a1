package dev.keypool.gateway;

import java.time.Duration;

import io.netty.buffer.ByteBuf;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.SignalType;
import reactor.netty.Connection;

import dev.keypool.provider.ProviderDialect;

import org.springframework.cloud.gateway.support.ServerWebExchangeUtils;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferFactory;
import org.springframework.core.io.buffer.NettyDataBufferFactory;
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

	private ResponseRelay() {
	}

	static Mono<Void> relay(ServerWebExchange exchange, ProviderDialect dialect) {
		Connection connection = exchange.getAttribute(ServerWebExchangeUtils.CLIENT_RESPONSE_CONN_ATTR);
		if (connection == null) {
			return Mono.empty();
		}
		exchange.getAttributes().remove(ServerWebExchangeUtils.CLIENT_RESPONSE_CONN_ATTR);
		ServerHttpResponse response = exchange.getResponse();
		DataBufferFactory factory = response.bufferFactory();
		Flux<DataBuffer> body = connection.inbound().receive().retain().map((buf) -> wrap(buf, factory));
		Mono<Void> write = isEventStream(response) ? writeEventStream(response, body, connection, dialect)
				: response.writeWith(body);
		return write.doFinally((signal) -> {
			if (signal != SignalType.ON_COMPLETE) {
				connection.dispose();
			}
		});
	}

	private static Mono<Void> writeEventStream(ServerHttpResponse response, Flux<DataBuffer> body,
			Connection connection, ProviderDialect dialect) {
		EventBoundary boundary = new EventBoundary();
		Flux<Publisher<DataBuffer>> chunks = body.doOnNext(boundary::observe)
			.<Publisher<DataBuffer>>map(Flux::just)
			.onErrorResume((ex) -> {
				logger.debug("Upstream stream broke after the response was committed; ending it with an error event",
						ex);
				connection.dispose();
				byte[] frame = dialect.streamErrorEvent(STREAM_BROKEN_MESSAGE);
				return Flux.just(Flux.just(response.bufferFactory().wrap(boundary.terminate(frame))));
			});
		return response.writeAndFlushWith(chunks);
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

	/**
	 * Remembers whether the bytes relayed so far end on an event boundary (a blank line), so
	 * the error event is never glued onto half an event.
	 */
	static final class EventBoundary {

		private byte last = '\n';

		private byte beforeLast = '\n';

		void observe(DataBuffer chunk) {
			int count = chunk.readableByteCount();
			if (count >= 2) {
				this.beforeLast = chunk.getByte(chunk.readPosition() + count - 2);
				this.last = chunk.getByte(chunk.readPosition() + count - 1);
			}
			else if (count == 1) {
				this.beforeLast = this.last;
				this.last = chunk.getByte(chunk.readPosition());
			}
		}

		byte[] terminate(byte[] frame) {
			String prefix = (this.last == '\n' && this.beforeLast == '\n') ? "" : (this.last == '\n') ? "\n" : "\n\n";
			if (prefix.isEmpty()) {
				return frame;
			}
			byte[] out = new byte[prefix.length() + frame.length];
			for (int i = 0; i < prefix.length(); i++) {
				out[i] = (byte) prefix.charAt(i);
			}
			System.arraycopy(frame, 0, out, prefix.length(), frame.length);
			return out;
		}

	}

}
