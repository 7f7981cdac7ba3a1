package dev.keypool.usage;

import java.nio.ByteBuffer;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Inflates a gzip-encoded response on the side, as its chunks pass, and hands the plain bytes
 * to a {@link UsageScanner}: the response itself is relayed compressed and untouched. State is
 * bounded: the gzip header fields being skipped, the inflater's window and one small output
 * buffer. A malformed stream stops the scan (and counts what was read before).
 * {@link #close()} frees the inflater's native memory; call it when the response ends.
 */
final class GzipInflater implements AutoCloseable {

	private static final int FHCRC = 2;

	private static final int FEXTRA = 4;

	private static final int FNAME = 8;

	private static final int FCOMMENT = 16;

	private static final int FIXED_HEADER = 10;

	private final Inflater inflater = new Inflater(true);

	private final byte[] out = new byte[8 * 1024];

	private final UsageScanner scanner;

	private int headerRead;

	private int flags;

	/** Bytes still to skip of the current optional header field; -1 while reading a zero-ended one. */
	private int extraLength;

	private int extraLengthBytes;

	private boolean inDeflate;

	private boolean stopped;

	GzipInflater(UsageScanner scanner) {
		this.scanner = scanner;
	}

	void feed(ByteBuffer chunk) {
		while (!this.stopped && !this.inDeflate && chunk.hasRemaining()) {
			header(chunk.get());
		}
		if (this.stopped || !chunk.hasRemaining()) {
			return;
		}
		this.inflater.setInput(chunk);
		try {
			while (!this.inflater.finished()) {
				int n = this.inflater.inflate(this.out);
				if (n == 0) {
					break;
				}
				this.scanner.scan(this.out, 0, n);
			}
		}
		catch (DataFormatException ex) {
			this.stopped = true;
		}
		if (this.inflater.finished()) {
			// The trailer and any further member are not read: one member is what servers send.
			this.stopped = true;
		}
	}

	private void header(byte value) {
		int b = value & 0xff;
		if (this.headerRead < FIXED_HEADER) {
			if ((this.headerRead == 0 && b != 0x1f) || (this.headerRead == 1 && b != 0x8b)
					|| (this.headerRead == 2 && b != 8)) {
				this.stopped = true;
			}
			if (this.headerRead == 3) {
				this.flags = b;
			}
			this.headerRead++;
			if (this.headerRead == FIXED_HEADER) {
				nextField();
			}
			return;
		}
		if ((this.flags & FEXTRA) != 0) {
			if (this.extraLengthBytes < 2) {
				this.extraLength |= b << (8 * this.extraLengthBytes++);
			}
			else {
				this.extraLength--;
			}
			if (this.extraLengthBytes == 2 && this.extraLength == 0) {
				this.flags &= ~FEXTRA;
				nextField();
			}
		}
		else if ((this.flags & FNAME) != 0) {
			if (b == 0) {
				this.flags &= ~FNAME;
				nextField();
			}
		}
		else if ((this.flags & FCOMMENT) != 0) {
			if (b == 0) {
				this.flags &= ~FCOMMENT;
				nextField();
			}
		}
		else if ((this.flags & FHCRC) != 0) {
			if (++this.extraLength == 2) {
				this.flags &= ~FHCRC;
				nextField();
			}
		}
	}

	private void nextField() {
		this.extraLength = 0;
		this.inDeflate = (this.flags & (FEXTRA | FNAME | FCOMMENT | FHCRC)) == 0;
	}

	@Override
	public void close() {
		this.inflater.end();
	}

}
