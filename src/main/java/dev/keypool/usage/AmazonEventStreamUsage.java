package dev.keypool.usage;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.zip.CRC32;

/**
 * Reads the usage of an {@code application/vnd.amazon.eventstream} response (Bedrock's
 * streams) message by message, with the JDK only: each message's prelude (total length,
 * headers length, prelude CRC), its headers and its payload, held until the message is whole
 * (at most {@value #MAX_MESSAGE_BYTES} bytes; a longer one is skipped unread), then handed to
 * a {@link UsageScanner} for event streams as one event:
 * <ul>
 * <li>{@code chunk} (InvokeModelWithResponseStream): the base64 {@code bytes} of its JSON
 * payload, an Anthropic stream event ({@code message_start}, {@code message_delta}, ...). Its
 * {@code amazon-bedrock-invocationMetrics} repeat those counts and are not read;</li>
 * <li>{@code metadata} (ConverseStream): the payload's top-level {@code usage}.</li>
 * </ul>
 * Other events, and exceptions, carry no usage. A prelude whose CRC does not match throws:
 * the framing is lost and nothing after it can be trusted. Not thread-safe: one per response.
 */
final class AmazonEventStreamUsage {

	/** Largest message read; Bedrock's are a few kilobytes. */
	static final int MAX_MESSAGE_BYTES = 1 << 20;

	private static final int PRELUDE_BYTES = 12;

	private static final int MESSAGE_CRC_BYTES = 4;

	private static final byte[] END_OF_EVENT = { '\n', '\n' };

	private static final byte[] EVENT = "event".getBytes(StandardCharsets.US_ASCII);

	private static final byte[] BYTES_MEMBER = "\"bytes\"".getBytes(StandardCharsets.US_ASCII);

	private final UsageScanner scanner;

	private final byte[] prelude = new byte[PRELUDE_BYTES];

	private int preludeRead;

	/** The message after its prelude, reused; grows up to {@link #MAX_MESSAGE_BYTES}. */
	private byte[] message = new byte[0];

	/** Length of the message being read after its prelude; 0 while reading a prelude. */
	private int messageLength;

	private int headersLength;

	private int messageRead;

	private int skipping;

	AmazonEventStreamUsage(UsageScanner scanner) {
		this.scanner = scanner;
	}

	/** Reads the remaining bytes of {@code chunk}, leaving its position untouched. */
	void feed(ByteBuffer chunk) {
		ByteBuffer bytes = chunk.duplicate();
		while (bytes.hasRemaining()) {
			if (this.skipping > 0) {
				int skipped = Math.min(this.skipping, bytes.remaining());
				bytes.position(bytes.position() + skipped);
				this.skipping -= skipped;
			}
			else if (this.messageLength > 0) {
				int read = Math.min(this.messageLength - this.messageRead, bytes.remaining());
				bytes.get(this.message, this.messageRead, read);
				this.messageRead += read;
				if (this.messageRead == this.messageLength) {
					endMessage();
				}
			}
			else {
				int read = Math.min(PRELUDE_BYTES - this.preludeRead, bytes.remaining());
				bytes.get(this.prelude, this.preludeRead, read);
				this.preludeRead += read;
				if (this.preludeRead == PRELUDE_BYTES) {
					startMessage();
				}
			}
		}
	}

	private void startMessage() {
		CRC32 crc = new CRC32();
		crc.update(this.prelude, 0, 8);
		long total = Integer.toUnsignedLong(intAt(this.prelude, 0));
		long headers = Integer.toUnsignedLong(intAt(this.prelude, 4));
		if (crc.getValue() != Integer.toUnsignedLong(intAt(this.prelude, 8))
				|| total < PRELUDE_BYTES + MESSAGE_CRC_BYTES + headers) {
			throw new IllegalStateException("Not an event-stream message");
		}
		int afterPrelude = (int) Math.min(total - PRELUDE_BYTES, Integer.MAX_VALUE);
		this.preludeRead = 0;
		if (total > MAX_MESSAGE_BYTES) {
			this.skipping = afterPrelude;
			return;
		}
		if (this.message.length < afterPrelude) {
			this.message = new byte[Math.max(afterPrelude, Math.min(2 * this.message.length, MAX_MESSAGE_BYTES))];
		}
		this.messageLength = afterPrelude;
		this.headersLength = (int) headers;
		this.messageRead = 0;
	}

	private void endMessage() {
		int payloadEnd = this.messageLength - MESSAGE_CRC_BYTES;
		this.messageLength = 0;
		this.messageRead = 0;
		String eventType = eventType();
		if ("chunk".equals(eventType)) {
			byte[] event = chunkBytes(this.headersLength, payloadEnd);
			if (event != null) {
				this.scanner.scan(event, 0, event.length);
				this.scanner.scan(END_OF_EVENT, 0, END_OF_EVENT.length);
			}
		}
		else if ("metadata".equals(eventType)) {
			this.scanner.scan(this.message, this.headersLength, payloadEnd - this.headersLength);
			this.scanner.scan(END_OF_EVENT, 0, END_OF_EVENT.length);
		}
	}

	/** The {@code :event-type} of an event message; {@code null} for exceptions and errors. */
	private String eventType() {
		String eventType = null;
		boolean event = false;
		int at = 0;
		while (at < this.headersLength) {
			int nameLength = this.message[at] & 0xff;
			String name = new String(this.message, at + 1, nameLength, StandardCharsets.UTF_8);
			at += 1 + nameLength;
			int type = this.message[at++];
			int valueLength = switch (type) {
				case 0, 1 -> 0;
				case 2 -> 1;
				case 3 -> 2;
				case 4 -> 4;
				case 5, 8 -> 8;
				case 9 -> 16;
				case 6, 7 -> -1;
				default -> throw new IllegalStateException("Unknown header type");
			};
			if (valueLength < 0) {
				valueLength = ((this.message[at] & 0xff) << 8) | (this.message[at + 1] & 0xff);
				at += 2;
				if (type == 7 && name.equals(":event-type")) {
					eventType = new String(this.message, at, valueLength, StandardCharsets.UTF_8);
				}
				else if (type == 7 && name.equals(":message-type")) {
					event = valueLength == 5 && Arrays.equals(this.message, at, at + 5, EVENT, 0, 5);
				}
			}
			at += valueLength;
		}
		return event ? eventType : null;
	}

	/** The decoded {@code bytes} member of a chunk's JSON payload, or {@code null}. */
	private byte[] chunkBytes(int from, int to) {
		int member = indexOf(BYTES_MEMBER, from, to);
		if (member < 0) {
			return null;
		}
		int at = member + BYTES_MEMBER.length;
		while (at < to && (this.message[at] == ' ' || this.message[at] == ':')) {
			at++;
		}
		if (at == to || this.message[at] != '"') {
			return null;
		}
		// Base64 has no quote or backslash; a JSON writer may escape '/' as "\/".
		byte[] encoded = new byte[to - at];
		int length = 0;
		for (at++; at < to && this.message[at] != '"'; at++) {
			if (this.message[at] != '\\') {
				encoded[length++] = this.message[at];
			}
		}
		return Base64.getDecoder().decode(Arrays.copyOf(encoded, length));
	}

	private int indexOf(byte[] target, int from, int to) {
		for (int i = from; i <= to - target.length; i++) {
			if (Arrays.equals(this.message, i, i + target.length, target, 0, target.length)) {
				return i;
			}
		}
		return -1;
	}

	private static int intAt(byte[] bytes, int at) {
		return ((bytes[at] & 0xff) << 24) | ((bytes[at + 1] & 0xff) << 16) | ((bytes[at + 2] & 0xff) << 8)
				| (bytes[at + 3] & 0xff);
	}

}
