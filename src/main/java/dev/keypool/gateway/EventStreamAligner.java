package dev.keypool.gateway;

import io.netty.buffer.ByteBuf;

/**
 * Cuts an upstream {@code application/vnd.amazon.eventstream} response at message
 * boundaries, so only whole messages are relayed and an exception message written after a
 * break is read as one by the client.
 * <p>
 * Each message starts with its total length (4 bytes, big-endian). Bytes of an unfinished
 * message are held (retained, not copied) until the rest arrives. A length outside what the
 * format allows means the stream is not one the gateway can follow: from then on bytes are
 * passed on as they come, and {@link #terminate} adds no message.
 */
final class EventStreamAligner extends StreamAligner {

	/** Prelude (12 bytes) and message CRC (4 bytes). */
	private static final int MIN_MESSAGE_BYTES = 16;

	private final int maxMessageBytes;

	EventStreamAligner(int maxMessageBytes) {
		this.maxMessageBytes = maxMessageBytes;
	}

	@Override
	protected ByteBuf align(ByteBuf chunk) {
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

	@Override
	protected boolean holdsPartOfFrame(ByteBuf held) {
		return held.isReadable();
	}

	/** Bytes were passed on off a message boundary: a message added now would be misread. */
	@Override
	protected byte[] terminateUnaligned(byte[] errorMessage) {
		return null;
	}

}
