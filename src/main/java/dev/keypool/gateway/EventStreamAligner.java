package dev.keypool.gateway;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;

/**
 * Cuts an upstream {@code application/vnd.amazon.eventstream} response at message
 * boundaries, so only whole messages are relayed and an exception message written after a
 * break is read as one by the client.
 * <p>
 * Each message starts with its total length (4 bytes, big-endian). Bytes of an unfinished
 * message are held (retained, not copied) until the rest arrives. A length outside what the
 * format allows means the stream is not one the gateway can follow: from then on bytes are
 * passed on as they come, and {@link #aligned()} says no message may be added.
 */
final class EventStreamAligner {

	/** Prelude (12 bytes) and message CRC (4 bytes). */
	private static final int MIN_MESSAGE_BYTES = 16;

	private final int maxMessageBytes;

	private ByteBuf pending;

	private boolean aligned = true;

	private boolean closed;

	EventStreamAligner(int maxMessageBytes) {
		this.maxMessageBytes = maxMessageBytes;
	}

	/**
	 * Takes ownership of {@code chunk}; returns the whole messages it completes (to be released
	 * by the caller), or {@code null} when none is complete yet.
	 */
	synchronized ByteBuf next(ByteBuf chunk) {
		if (this.closed) {
			chunk.release();
			return null;
		}
		if (!this.aligned) {
			return chunk;
		}
		hold(chunk);
		ByteBuf held = this.pending;
		int start = held.readerIndex();
		int end = start;
		while (held.writerIndex() - end >= 4) {
			long length = held.getUnsignedInt(end);
			if (length < MIN_MESSAGE_BYTES || length > this.maxMessageBytes) {
				this.aligned = false;
				this.pending = null;
				return held;
			}
			if (held.writerIndex() - end < length) {
				break;
			}
			end += (int) length;
		}
		if (end == start) {
			return null;
		}
		ByteBuf complete = held.retainedSlice(start, end - start);
		this.pending = (end < held.writerIndex()) ? held.retainedSlice(end, held.writerIndex() - end) : null;
		held.release();
		return complete;
	}

	/** Whether everything handed out so far ends on a message boundary. */
	synchronized boolean aligned() {
		return this.aligned;
	}

	/** At the end of the stream: whether part of a message was left over (it is dropped). */
	synchronized boolean endsInsideMessage() {
		boolean inside = this.pending != null && this.pending.isReadable();
		close();
		return inside;
	}

	/** Drops whatever is held; safe to call more than once, from any path. */
	synchronized void close() {
		this.closed = true;
		if (this.pending != null) {
			this.pending.release();
			this.pending = null;
		}
	}

	private void hold(ByteBuf chunk) {
		if (this.pending == null) {
			this.pending = chunk;
			return;
		}
		CompositeByteBuf composite = (this.pending instanceof CompositeByteBuf held) ? held
				: Unpooled.compositeBuffer(Integer.MAX_VALUE).addComponent(true, this.pending);
		this.pending = composite.addComponent(true, chunk);
	}

}
