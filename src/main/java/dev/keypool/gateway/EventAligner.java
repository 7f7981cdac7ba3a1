package dev.keypool.gateway;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;

/**
 * Cuts an upstream event stream at event boundaries (a blank line), so only complete events
 * are relayed and a stream that breaks inside an event never hands the client half of it.
 * <p>
 * Bytes after the last boundary are held (retained, not copied) until the rest of their
 * event arrives. An event larger than {@code maxPending} is passed on unaligned rather than
 * held without bound; {@link #terminate} then closes it with a blank line first.
 * Line ends may be {@code \n}, {@code \r\n} or {@code \r}, as in the SSE specification.
 */
final class EventAligner {

	private final int maxPending;

	private ByteBuf pending;

	/** The last byte scanned ended a line (so a line end now ends an event). */
	private boolean atLineStart = true;

	private boolean lastWasCr;

	/** Everything handed out so far ends on an event boundary. */
	private boolean aligned = true;

	private boolean closed;

	EventAligner(int maxPending) {
		this.maxPending = maxPending;
	}

	/**
	 * Takes ownership of {@code chunk}; returns the complete events it finishes (to be
	 * released by the caller), or {@code null} when none is complete yet.
	 */
	synchronized ByteBuf next(ByteBuf chunk) {
		if (this.closed) {
			chunk.release();
			return null;
		}
		int boundary = lastBoundary(chunk);
		if (boundary < 0) {
			hold(chunk);
			if (this.pending.readableBytes() > this.maxPending) {
				ByteBuf oversized = this.pending;
				this.pending = null;
				this.aligned = false;
				return oversized;
			}
			return null;
		}
		int start = chunk.readerIndex();
		ByteBuf complete = chunk.retainedSlice(start, boundary - start);
		ByteBuf rest = (boundary < chunk.writerIndex()) ? chunk.retainedSlice(boundary, chunk.writerIndex() - boundary)
				: null;
		chunk.release();
		ByteBuf out = (this.pending != null) ? Unpooled.wrappedBuffer(this.pending, complete) : complete;
		this.pending = rest;
		this.aligned = true;
		return out;
	}

	/**
	 * At a clean end of the stream: whether bytes of an unfinished event were left over (they
	 * are dropped; an SSE client would drop them too).
	 */
	synchronized boolean endsInsideEvent() {
		boolean inside = false;
		if (this.pending != null) {
			inside = this.pending.forEachByte((b) -> b == '\n' || b == '\r') >= 0;
		}
		close();
		return inside;
	}

	/** The error event to end the stream with, after a blank line if an event was left open. */
	synchronized byte[] terminate(byte[] errorEvent) {
		close();
		if (this.aligned) {
			return errorEvent;
		}
		byte[] out = new byte[errorEvent.length + 2];
		out[0] = '\n';
		out[1] = '\n';
		System.arraycopy(errorEvent, 0, out, 2, errorEvent.length);
		return out;
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

	/** Index just after the last blank line in {@code chunk}, or -1; advances the line state. */
	private int lastBoundary(ByteBuf chunk) {
		int boundary = -1;
		for (int i = chunk.readerIndex(); i < chunk.writerIndex(); i++) {
			byte b = chunk.getByte(i);
			if (b == '\n') {
				if (this.lastWasCr) {
					// the \n of a \r\n: the line already ended at the \r
					this.lastWasCr = false;
					if (boundary == i) {
						boundary = i + 1;
					}
					continue;
				}
				if (this.atLineStart) {
					boundary = i + 1;
				}
				this.atLineStart = true;
			}
			else if (b == '\r') {
				if (this.atLineStart) {
					boundary = i + 1;
				}
				this.atLineStart = true;
				this.lastWasCr = true;
			}
			else {
				this.atLineStart = false;
				this.lastWasCr = false;
			}
		}
		return boundary;
	}

}
