package dev.keypool.gateway;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.concurrent.atomic.AtomicBoolean;

import io.netty.buffer.ByteBufInputStream;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferFactory;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.core.io.buffer.DefaultDataBufferFactory;
import org.springframework.core.io.buffer.NettyDataBuffer;

/**
 * A request body read once and replayed on every attempt without copying.
 * <p>
 * The body is gathered into <em>one contiguous</em> buffer, sized from {@code Content-Length}
 * when the caller sent it, and each chunk is released as soon as it is copied in. A joined
 * composite of the incoming chunks would be copied again into a contiguous buffer when it
 * is written upstream (it has more pieces than one socket write takes), costing twice the
 * body's size at the worst moment. Each replay is a retained duplicate of that one buffer
 * (its own read position, the same memory), which the HTTP client releases once written.
 * The buffer and its share of the {@link BufferBudget} (counted in body bytes) are given
 * back once, by {@link #release()}.
 */
final class CachedBody {

	static final CachedBody EMPTY = new CachedBody(null, null, null, 0);

	/** First capacity for a body of unknown length; it grows as chunks arrive. */
	private static final int UNKNOWN_LENGTH_CAPACITY = 64 * 1024;

	private final NettyDataBuffer netty;

	private final byte[] heap;

	private final BufferBudget budget;

	private final long reserved;

	private final AtomicBoolean released = new AtomicBoolean();

	private CachedBody(NettyDataBuffer netty, byte[] heap, BufferBudget budget, long reserved) {
		this.netty = netty;
		this.heap = heap;
		this.budget = budget;
		this.reserved = reserved;
	}

	/**
	 * Reads {@code body} whole. Fails with {@link RequestTooLarge} past {@code maxBytes} and
	 * with {@link OverBudget} when the budget has no room; either way every buffer taken is
	 * released and the budget is as it was.
	 */
	static Mono<CachedBody> read(Flux<DataBuffer> body, long declaredLength, int maxBytes, BufferBudget budget,
			DataBufferFactory factory) {
		return Mono.defer(() -> {
			// Known lengths are reserved before a byte is read, so an upload that cannot fit
			// is refused at once; unknown ones are reserved as they grow.
			long reserved = Math.max(declaredLength, 0);
			if (!budget.tryReserve(reserved)) {
				return Mono.error(new OverBudget(true));
			}
			int initialCapacity = (declaredLength > 0) ? (int) declaredLength
					: Math.min(UNKNOWN_LENGTH_CAPACITY, maxBytes);
			Gathering gathering = new Gathering(factory, initialCapacity, reserved, maxBytes, budget);
			return body.<Void>handle((chunk, sink) -> {
				RuntimeException failure = gathering.append(chunk);
				if (failure != null) {
					sink.error(failure);
				}
			})
				.then(Mono.fromSupplier(gathering::finish))
				.doOnCancel(gathering::abandon)
				.doOnError((ex) -> gathering.abandon());
		});
	}

	int size() {
		if (this.netty != null) {
			return this.netty.readableByteCount();
		}
		return (this.heap != null) ? this.heap.length : 0;
	}

	/**
	 * The body's bytes from the start, read in place (for a request signature and the
	 * request's fields); valid until {@link #release()}.
	 */
	InputStream openStream() {
		if (this.netty != null) {
			return new ByteBufInputStream(this.netty.getNativeBuffer().duplicate());
		}
		return new ByteArrayInputStream((this.heap != null) ? this.heap : new byte[0]);
	}

	/** The body for one attempt, created at subscription so an attempt never sent retains nothing. */
	Flux<DataBuffer> replay() {
		if (this.netty == null && this.heap == null) {
			return Flux.empty();
		}
		return Flux.from(Mono.fromSupplier(this::duplicate));
	}

	private DataBuffer duplicate() {
		if (this.netty == null) {
			return DefaultDataBufferFactory.sharedInstance.wrap(this.heap);
		}
		if (this.released.get()) {
			throw new IllegalStateException("request body replayed after release");
		}
		return this.netty.factory().wrap(this.netty.getNativeBuffer().retainedDuplicate());
	}

	/** Releases the buffer and its budget; safe to call more than once, from any path. */
	void release() {
		if (this.released.compareAndSet(false, true)) {
			if (this.netty != null) {
				DataBufferUtils.release(this.netty);
			}
			if (this.budget != null) {
				this.budget.release(this.reserved);
			}
		}
	}

	/**
	 * The body being read: one buffer, allocated with the first chunk and grown as needed,
	 * and its share of the budget.
	 */
	private static final class Gathering {

		private final DataBufferFactory factory;

		private final int initialCapacity;

		private final int maxBytes;

		private final BufferBudget budget;

		private DataBuffer target;

		private long reserved;

		private boolean done;

		Gathering(DataBufferFactory factory, int initialCapacity, long reserved, int maxBytes, BufferBudget budget) {
			this.factory = factory;
			this.initialCapacity = initialCapacity;
			this.reserved = reserved;
			this.maxBytes = maxBytes;
			this.budget = budget;
		}

		/** Copies {@code chunk} in and releases it; the failure to signal, or {@code null}. */
		synchronized RuntimeException append(DataBuffer chunk) {
			try {
				if (this.done) {
					return new IllegalStateException("request body arrived after it was given up");
				}
				int size = chunk.readableByteCount();
				int held = (this.target != null) ? this.target.readableByteCount() : 0;
				if ((long) held + size > this.maxBytes) {
					return new RequestTooLarge();
				}
				if (this.target == null) {
					this.target = this.factory.allocateBuffer(Math.max(this.initialCapacity, size));
				}
				long growth = (long) held + size - this.reserved;
				if (growth > 0) {
					if (!this.budget.tryReserve(growth)) {
						return new OverBudget(false);
					}
					this.reserved += growth;
				}
				this.target.ensureWritable(size);
				this.target.write(chunk);
				return null;
			}
			finally {
				DataBufferUtils.release(chunk);
			}
		}

		synchronized CachedBody finish() {
			this.done = true;
			DataBuffer body = this.target;
			this.target = null;
			if (body == null || body.readableByteCount() == 0) {
				if (body != null) {
					DataBufferUtils.release(body);
				}
				this.budget.release(this.reserved);
				return EMPTY;
			}
			if (body instanceof NettyDataBuffer netty) {
				return new CachedBody(netty, null, this.budget, this.reserved);
			}
			// Not served by Netty (mock requests): bytes that wrapping never copies again.
			byte[] bytes = new byte[body.readableByteCount()];
			body.read(bytes);
			DataBufferUtils.release(body);
			return new CachedBody(null, bytes, this.budget, this.reserved);
		}

		synchronized void abandon() {
			if (!this.done) {
				this.done = true;
				if (this.target != null) {
					DataBufferUtils.release(this.target);
					this.target = null;
				}
				this.budget.release(this.reserved);
			}
		}

	}

	/** The body is larger than {@code keypool.max-request-body}. */
	static final class RequestTooLarge extends RuntimeException {

		RequestTooLarge() {
			super("request body over limit", null, false, false);
		}

	}

	/** The body did not arrive whole within {@code keypool.request-body-timeout}. */
	static final class RequestBodyTimeout extends RuntimeException {

		RequestBodyTimeout() {
			super("request body timed out", null, false, false);
		}

	}

	/** Holding the body would exceed {@code keypool.max-buffered-bytes}. */
	static final class OverBudget extends RuntimeException {

		private final boolean beforeReading;

		OverBudget(boolean beforeReading) {
			super("request body over the buffer budget", null, false, false);
			this.beforeReading = beforeReading;
		}

		/** Refused on its declared length: no byte of the body was read yet. */
		boolean beforeReading() {
			return this.beforeReading;
		}

	}

}
