package dev.keypool.usage;

import java.util.concurrent.atomic.AtomicBoolean;

import io.netty.buffer.ByteBuf;

import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;

/**
 * Reads one response's usage as its chunks pass: plain bytes go straight to the
 * {@link UsageScanner}, a gzip body through a {@link GzipInflater} on the side. A failure to
 * read never reaches the response: the meter stops and counts what it read.
 */
final class ResponseMeter {

	private final UsageScanner scanner;

	private final GzipInflater gzip;

	private boolean failed;

	private final AtomicBoolean ended = new AtomicBoolean();

	private ResponseMeter(UsageScanner scanner, boolean gzip) {
		this.scanner = scanner;
		this.gzip = gzip ? new GzipInflater(scanner) : null;
	}

	/**
	 * A meter for a response with these headers, or {@code null} when its body cannot carry
	 * usage the meter can read (an encoding other than gzip).
	 */
	static ResponseMeter of(HttpHeaders headers) {
		String encoding = headers.getFirst(HttpHeaders.CONTENT_ENCODING);
		boolean gzip = encoding != null && encoding.trim().equalsIgnoreCase("gzip");
		if (encoding != null && !gzip && !encoding.trim().equalsIgnoreCase("identity")) {
			return null;
		}
		return new ResponseMeter(isEventStream(headers) ? UsageScanner.forEventStream() : UsageScanner.forJson(),
				gzip);
	}

	void read(ByteBuf chunk) {
		if (this.failed || this.ended.get() || !chunk.isReadable()) {
			return;
		}
		try {
			if (this.gzip != null) {
				this.gzip.feed(chunk.nioBuffer(chunk.readerIndex(), chunk.readableBytes()));
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
		try {
			MediaType type = headers.getContentType();
			return type != null && MediaType.TEXT_EVENT_STREAM.isCompatibleWith(type);
		}
		catch (RuntimeException ex) {
			return false;
		}
	}

}
