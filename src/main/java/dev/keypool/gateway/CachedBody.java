package dev.keypool.gateway;

import java.util.concurrent.atomic.AtomicBoolean;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.core.io.buffer.DefaultDataBufferFactory;
import org.springframework.core.io.buffer.NettyDataBuffer;

/**
 * A request body read once and replayed on every attempt without copying: each replay is a
 * retained duplicate of the one Netty buffer (its own read position, the same memory), which
 * the HTTP client releases once written. The buffer itself is released once, by
 * {@link #release()}.
 */
final class CachedBody {

	static final CachedBody EMPTY = new CachedBody(null, null);

	private final NettyDataBuffer netty;

	private final byte[] heap;

	private final AtomicBoolean released = new AtomicBoolean();

	private CachedBody(NettyDataBuffer netty, byte[] heap) {
		this.netty = netty;
		this.heap = heap;
	}

	static CachedBody of(DataBuffer joined) {
		if (joined instanceof NettyDataBuffer netty) {
			return new CachedBody(netty, null);
		}
		// Not served by Netty (mock requests): copy once into bytes that wrapping never copies again.
		byte[] bytes = new byte[joined.readableByteCount()];
		joined.read(bytes);
		DataBufferUtils.release(joined);
		return new CachedBody(null, bytes);
	}

	int size() {
		if (this.netty != null) {
			return this.netty.readableByteCount();
		}
		return (this.heap != null) ? this.heap.length : 0;
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

	/** Releases the buffer; safe to call more than once, from any path. */
	void release() {
		if (this.netty != null && this.released.compareAndSet(false, true)) {
			DataBufferUtils.release(this.netty);
		}
	}

	/**
	 * The byte at {@code index} (from 0, below {@link #size()}), read in place: lets the model
	 * be found without copying or parsing the body.
	 */
	int byteAt(int index) {
		if (this.netty != null) {
			return this.netty.getNativeBuffer().getByte(this.netty.getNativeBuffer().readerIndex() + index);
		}
		return this.heap[index];
	}

}
