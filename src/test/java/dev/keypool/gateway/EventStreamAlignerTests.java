package dev.keypool.gateway;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class EventStreamAlignerTests {

	/** A message of {@code length} bytes as the prelude sees it: its length, then filler. */
	static byte[] message(int length, char fill) {
		byte[] message = new byte[length];
		Arrays.fill(message, (byte) fill);
		message[0] = (byte) (length >>> 24);
		message[1] = (byte) (length >>> 16);
		message[2] = (byte) (length >>> 8);
		message[3] = (byte) length;
		return message;
	}

	static byte[] concat(byte[]... parts) {
		int size = Arrays.stream(parts).mapToInt((part) -> part.length).sum();
		byte[] all = new byte[size];
		int at = 0;
		for (byte[] part : parts) {
			System.arraycopy(part, 0, all, at, part.length);
			at += part.length;
		}
		return all;
	}

	static byte[] take(ByteBuf buf) {
		if (buf == null) {
			return null;
		}
		try {
			return ByteBufUtil.getBytes(buf);
		}
		finally {
			buf.release();
		}
	}

	@Test
	void onlyWholeMessagesAreHandedOutHowEverTheBytesArrive() {
		byte[] first = message(20, 'a');
		byte[] second = message(30, 'b');
		byte[] all = concat(first, second);
		EventStreamAligner aligner = new EventStreamAligner(1024);

		assertThat(take(aligner.next(Unpooled.wrappedBuffer(Arrays.copyOfRange(all, 0, 2))))).isNull();
		assertThat(take(aligner.next(Unpooled.wrappedBuffer(Arrays.copyOfRange(all, 2, 25))))).isEqualTo(first);
		assertThat(take(aligner.next(Unpooled.wrappedBuffer(Arrays.copyOfRange(all, 25, all.length)))))
			.isEqualTo(second);
		assertThat(aligner.endsInsideFrame()).isFalse();
	}

	@Test
	void severalMessagesInOneChunkGoOutTogether() {
		byte[] first = message(16, 'a');
		byte[] second = message(17, 'b');
		byte[] third = message(40, 'c');
		EventStreamAligner aligner = new EventStreamAligner(1024);

		byte[] out = take(aligner.next(Unpooled.wrappedBuffer(concat(first, second, Arrays.copyOf(third, 10)))));

		assertThat(out).isEqualTo(concat(first, second));
		assertThat(aligner.endsInsideFrame()).isTrue();
	}

	@Test
	void aLengthTheFormatDoesNotAllowStopsAligningAndBytesPassAsTheyCome() {
		EventStreamAligner aligner = new EventStreamAligner(1024);
		byte[] notEventStream = "{\"not\":\"an event stream\"}".getBytes(StandardCharsets.UTF_8);

		assertThat(take(aligner.next(Unpooled.wrappedBuffer(notEventStream)))).isEqualTo(notEventStream);
		assertThat(aligner.aligned()).isFalse();
		assertThat(take(aligner.next(Unpooled.wrappedBuffer(new byte[] { 1, 2 })))).containsExactly(1, 2);
		aligner.close();
	}

	@Test
	void closingReleasesWhatIsHeld() {
		EventStreamAligner aligner = new EventStreamAligner(1024);
		ByteBuf partial = Unpooled.wrappedBuffer(Arrays.copyOf(message(40, 'x'), 8));

		assertThat(aligner.next(partial)).isNull();
		aligner.close();

		assertThat(partial.refCnt()).isZero();
	}

}
