package dev.keypool.gateway;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;

/**
 * Cuts an upstream stream at the boundaries of its frames (SSE events, event-stream
 * messages), so only whole frames are relayed and the error frame written after a break is
 * read as one by the client.
 * <p>
 * Bytes of an unfinished frame are held (retained, not copied) until the rest arrives. What
 * a frame is, and what to do with one that cannot be held, is the subclass's.
 */
abstract class StreamAligner {

	/** Bytes of an unfinished frame, or {@code null}. */
	protected ByteBuf pending;

	/** Everything handed out so far ends on a frame boundary. */
	protected boolean aligned = true;

	private boolean closed;

	/**
	 * Takes ownership of {@code chunk}; returns the whole frames it completes (to be released
	 * by the caller), or {@code null} when none is complete yet.
	 */
	final synchronized ByteBuf next(ByteBuf chunk) {
		if (this.closed) {
			chunk.release();
			return null;
		}
		return align(chunk);
	}

	/** {@link #next} for an open aligner. */
	protected abstract ByteBuf align(ByteBuf chunk);

	/**
	 * At a clean end of the stream: whether part of a frame was left over (it is dropped; a
	 * client would drop it too).
	 */
	final synchronized boolean endsInsideFrame() {
		boolean inside = this.pending != null && holdsPartOfFrame(this.pending);
		close();
		return inside;
	}

	/** Whether {@code held} bytes are the start of a frame rather than nothing at all. */
	protected abstract boolean holdsPartOfFrame(ByteBuf held);

	/**
	 * What to end the stream with after a break: {@code errorFrame}, adapted so the client
	 * reads it as a frame of its own, or {@code null} when nothing can be added safely.
	 */
	final synchronized byte[] terminate(byte[] errorFrame) {
		close();
		return this.aligned ? errorFrame : terminateUnaligned(errorFrame);
	}

	/** Whether everything handed out so far ends on a frame boundary. */
	final synchronized boolean aligned() {
		return this.aligned;
	}

	/** {@link #terminate} after bytes were passed on off a frame boundary. */
	protected abstract byte[] terminateUnaligned(byte[] errorFrame);

	/** Drops whatever is held; safe to call more than once, from any path. */
	final synchronized void close() {
		this.closed = true;
		if (this.pending != null) {
			this.pending.release();
			this.pending = null;
		}
	}

	/** Adds {@code chunk} to the bytes held. */
	protected final void hold(ByteBuf chunk) {
		if (this.pending == null) {
			this.pending = chunk;
			return;
		}
		CompositeByteBuf composite = (this.pending instanceof CompositeByteBuf held) ? held
				: Unpooled.compositeBuffer(Integer.MAX_VALUE).addComponent(true, this.pending);
		this.pending = composite.addComponent(true, chunk);
	}

}
