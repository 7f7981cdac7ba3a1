package dev.keypool.actuate;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import dev.keypool.pool.AttemptOutcome;
import dev.keypool.pool.Exhaustion;
import dev.keypool.pool.KeyStateChange;
import dev.keypool.pool.KeyStatus;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What operators read: one line per key state change, one WARN per exhaustion episode.
 */
class KeyPoolEventLoggerTest {

	private final List<String> lines = new CopyOnWriteArrayList<>();

	private final Logger logback = (Logger) LoggerFactory.getLogger(KeyPoolEventLogger.class);

	private final AppenderBase<ILoggingEvent> appender = new AppenderBase<>() {
		@Override
		protected void append(ILoggingEvent event) {
			KeyPoolEventLoggerTest.this.lines.add(event.getLevel() + " " + event.getFormattedMessage());
		}
	};

	private final KeyPoolEventLogger eventLogger = new KeyPoolEventLogger();

	@BeforeEach
	void capture() {
		this.appender.start();
		this.logback.addAppender(this.appender);
		this.logback.setLevel(Level.INFO);
	}

	@AfterEach
	void release() {
		this.logback.detachAppender(this.appender);
		this.logback.setLevel(null);
	}

	@Test
	void cooldownIsLoggedWithPoolKeyTransitionStatusAndDeadline() {
		Instant at = Instant.parse("2026-01-01T00:00:00Z");
		this.eventLogger.onStateChange(new KeyStateChange("anthropic", "primary", KeyStatus.AVAILABLE,
				KeyStatus.COOLING_DOWN, "429", at.plusSeconds(30), at));

		assertThat(this.lines).containsExactly(
				"INFO pool=anthropic key=primary available -> cooling_down reason=429 until=2026-01-01T00:00:30Z");
	}

	@Test
	void resetIsLoggedWithoutADeadline() {
		this.eventLogger.onStateChange(new KeyStateChange("anthropic", "primary", KeyStatus.DISABLED,
				KeyStatus.AVAILABLE, "reset", null, Instant.EPOCH));

		assertThat(this.lines).containsExactly("INFO pool=anthropic key=primary disabled -> available reason=reset");
	}

	@Test
	void exhaustionWarnsOncePerEpisodeAndAgainOnlyAfterThePoolServedInBetween() {
		for (int i = 0; i < 1000; i++) {
			this.eventLogger.onExhausted("anthropic", new Exhaustion.Transient(Duration.ofMillis(2500)));
		}
		this.eventLogger.onAttempt("anthropic", "fallback", AttemptOutcome.RATE_LIMITED);
		this.eventLogger.onExhausted("anthropic", new Exhaustion.Permanent());
		this.eventLogger.onAttempt("anthropic", "primary", AttemptOutcome.SUCCESS);
		this.eventLogger.onExhausted("anthropic", new Exhaustion.Permanent());
		this.eventLogger.onExhausted("other", new Exhaustion.Permanent());

		assertThat(this.lines).containsExactly(
				"WARN pool=anthropic exhausted: every key is rate-limited or disabled, soonest key available in 3s;"
						+ " answering 429 until then",
				"INFO pool=anthropic serving again: key=primary answered",
				"WARN pool=anthropic exhausted: every key failed authentication; answering 502 until a key is reset"
						+ " (DELETE /actuator/keypools/anthropic/{key})",
				"WARN pool=other exhausted: every key failed authentication; answering 502 until a key is reset"
						+ " (DELETE /actuator/keypools/other/{key})");
	}

}
