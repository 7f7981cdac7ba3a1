package dev.keypool.gateway;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

class EventAlignerTests {

	private static final String EVENTS = "event: a\ndata: {\"n\":1}\n\nevent: b\ndata: {\"n\":2}\n\n: ping\n\n";

	@ParameterizedTest(name = "chunks of {0} bytes")
	@CsvSource({ "1", "2", "3", "7", "13", "64", "1000" })
	void onlyWholeEventsAreHandedOutWhateverTheChunking(int chunkSize) {
		EventAligner aligner = new EventAligner(1024);

		List<String> out = feed(aligner, EVENTS, chunkSize);

		assertThat(String.join("", out)).isEqualTo(EVENTS);
		assertThat(out).allSatisfy((piece) -> assertThat(piece).endsWith("\n\n"));
		assertThat(aligner.endsInsideFrame()).isFalse();
	}

	@ParameterizedTest(name = "line ends {0}")
	@CsvSource({ "'\r\n'", "'\r'" })
	void otherLineEndsAlsoEndEvents(String lineEnd) {
		String events = EVENTS.replace("\n", lineEnd);
		EventAligner aligner = new EventAligner(1024);

		List<String> out = feed(aligner, events, 5);

		assertThat(String.join("", out).replace("\r\n", "\n").replace("\r", "\n")).isEqualTo(EVENTS);
		assertThat(aligner.endsInsideFrame()).isFalse();
	}

	@Test
	void aBreakInsideAnEventDropsItsFirstHalf() {
		EventAligner aligner = new EventAligner(1024);

		List<String> out = feed(aligner, "event: a\ndata: {}\n\nevent: b\ndata: {\"ty", 4);
		byte[] frame = aligner.terminate("event: error\ndata: {}\n\n".getBytes(StandardCharsets.UTF_8));

		assertThat(String.join("", out)).isEqualTo("event: a\ndata: {}\n\n");
		assertThat(new String(frame, StandardCharsets.UTF_8)).isEqualTo("event: error\ndata: {}\n\n");
	}

	@Test
	void aCleanEndInsideAnEventIsReported() {
		EventAligner aligner = new EventAligner(1024);

		feed(aligner, "event: a\ndata: {}\n\nevent: b\n", 100);

		assertThat(aligner.endsInsideFrame()).isTrue();
	}

	@Test
	void anOversizedEventIsPassedOnAndTheErrorFrameStartsAfterABlankLine() {
		EventAligner aligner = new EventAligner(8);

		List<String> out = feed(aligner, "data: 0123456789", 4);
		byte[] frame = aligner.terminate("event: error\n\n".getBytes(StandardCharsets.UTF_8));

		assertThat(String.join("", out)).isEqualTo("data: 012345");
		assertThat(new String(frame, StandardCharsets.UTF_8)).isEqualTo("\n\nevent: error\n\n");
	}

	@Test
	void closingReleasesWhatIsHeld() {
		EventAligner aligner = new EventAligner(1024);
		ByteBuf partial = Unpooled.copiedBuffer("event: a\ndata: {", StandardCharsets.UTF_8);

		assertThat(aligner.next(partial)).isNull();
		aligner.close();

		assertThat(partial.refCnt()).isZero();
	}

	private static List<String> feed(EventAligner aligner, String text, int chunkSize) {
		byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
		List<String> out = new ArrayList<>();
		for (int i = 0; i < bytes.length; i += chunkSize) {
			ByteBuf chunk = Unpooled.copiedBuffer(bytes, i, Math.min(chunkSize, bytes.length - i));
			ByteBuf complete = aligner.next(chunk);
			if (complete != null) {
				out.add(complete.toString(StandardCharsets.UTF_8));
				complete.release();
			}
		}
		return out;
	}

}
