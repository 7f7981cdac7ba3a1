package dev.keypool.gateway;

import io.netty.buffer.ByteBuf;
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
final class EventAligner extends StreamAligner {

	private final int maxPending;

	/** The last byte scanned ended a line (so a line end now ends an event). */
	private boolean atLineStart = true;

	private boolean lastWasCr;

	EventAligner(int maxPending) {
		this.maxPending = maxPending;
	}

	@Override
	protected ByteBuf align(ByteBuf chunk) {
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

	/** Held bytes with a line end in them are part of an event; a bare partial line is not yet. */
	@Override
	protected boolean holdsPartOfFrame(ByteBuf held) {
		return held.forEachByte((b) -> b == '\n' || b == '\r') >= 0;
	}

	/** The error event after a blank line, which closes the event passed on unfinished. */
	@Override
	protected byte[] terminateUnaligned(byte[] errorEvent) {
		byte[] out = new byte[errorEvent.length + 2];
		out[0] = '\n';
		out[1] = '\n';
		System.arraycopy(errorEvent, 0, out, 2, errorEvent.length);
		return out;
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
