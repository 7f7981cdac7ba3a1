package dev.keypool.usage;

import java.util.concurrent.atomic.AtomicBoolean;

import io.netty.buffer.ByteBuf;

import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;

/**
 * Reads one response's usage as its chunks pass: plain bytes go straight to the
 * {@link UsageScanner}, a gzip body through a {@link GzipInflater} on the side, an Amazon
 * event stream message by message through {@link AmazonEventStreamUsage}. A failure to
 * read never reaches the response: the meter stops and counts what it read.
 */
final class ResponseMeter {

	private static final MediaType AMAZON_EVENT_STREAM = MediaType.parseMediaType("application/vnd.amazon.eventstream");

	private final UsageScanner scanner;

	private final GzipInflater gzip;

	private final AmazonEventStreamUsage amazonEventStream;

	private boolean failed;

	private final AtomicBoolean ended = new AtomicBoolean();

	private ResponseMeter(UsageScanner scanner, boolean gzip, boolean amazonEventStream) {
		this.scanner = scanner;
		this.gzip = gzip ? new GzipInflater(scanner) : null;
		this.amazonEventStream = amazonEventStream ? new AmazonEventStreamUsage(scanner) : null;
	}

	/**
	 * A meter for a response with these headers, or {@code null} when its body cannot carry
	 * usage the meter can read (an encoding other than gzip, or a compressed Amazon event
	 * stream, which Bedrock does not send).
	 *
	 * @param batchResults whether the response is Message Batches results (JSON Lines)
	 */
	static ResponseMeter of(HttpHeaders headers, boolean batchResults) {
		String encoding = headers.getFirst(HttpHeaders.CONTENT_ENCODING);
		boolean gzip = encoding != null && encoding.trim().equalsIgnoreCase("gzip");
		if (encoding != null && !gzip && !encoding.trim().equalsIgnoreCase("identity")) {
			return null;
		}
		if (isAmazonEventStream(headers)) {
			return gzip ? null : new ResponseMeter(UsageScanner.forEventStream(), false, true);
		}
		if (batchResults) {
			return new ResponseMeter(UsageScanner.forBatchResults(), gzip, false);
		}
		return new ResponseMeter(isEventStream(headers) ? UsageScanner.forEventStream() : UsageScanner.forJson(),
				gzip, false);
	}

	void read(ByteBuf chunk) {
		if (this.failed || this.ended.get() || !chunk.isReadable()) {
			return;
		}
		try {
			if (this.gzip != null) {
				this.gzip.feed(chunk.nioBuffer(chunk.readerIndex(), chunk.readableBytes()));
			}
			else if (this.amazonEventStream != null) {
				this.amazonEventStream.feed(chunk.nioBuffer(chunk.readerIndex(), chunk.readableBytes()));
			}
			else {
				this.scanner.scan(chunk.nioBuffer(chunk.readerIndex(), chunk.readableBytes()));
			}
		}
		catch (RuntimeException ex) {
			this.failed = true;
		}
	}

	/**
	 * Ends reading and frees the inflater; {@code true} the first time only, so a response is
	 * counted once whichever way it ends.
	 */
	boolean end() {
		if (!this.ended.compareAndSet(false, true)) {
			return false;
		}
		if (this.gzip != null) {
			this.gzip.close();
		}
		return true;
	}

	UsageScanner scanner() {
		return this.scanner;
	}

	private static boolean isEventStream(HttpHeaders headers) {
		return isCompatible(headers, MediaType.TEXT_EVENT_STREAM);
	}

	private static boolean isAmazonEventStream(HttpHeaders headers) {
		return isCompatible(headers, AMAZON_EVENT_STREAM);
	}

	private static boolean isCompatible(HttpHeaders headers, MediaType expected) {
		try {
			MediaType type = headers.getContentType();
			return type != null && expected.isCompatibleWith(type);
		}
		catch (RuntimeException ex) {
			return false;
		}
	}

}
