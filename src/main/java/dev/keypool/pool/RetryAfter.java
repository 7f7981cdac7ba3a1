package dev.keypool.pool;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * Reads how long the provider asks us to wait, from {@code retry-after-ms} (milliseconds,
 * may be fractional) or {@code Retry-After} (seconds, integer or decimal, or an HTTP-date).
 */
public final class RetryAfter {

	/** Longest duration we represent; anything beyond is capped by the policy anyway. */
	private static final double MAX_SECONDS = 365d * 24 * 3600;

	private RetryAfter() {
	}

	/**
	 * The requested wait, or empty when neither header gives a positive, future one. When
	 * both headers give one, the longer wins: a sub-second {@code retry-after-ms} must not
	 * shorten a {@code Retry-After} of several seconds.
	 */
	public static Optional<Duration> parse(String retryAfterMs, String retryAfter, Instant now) {
		Optional<Duration> fromMillis = positiveSeconds(retryAfterMs, 1000d);
		Optional<Duration> fromRetryAfter = parseRetryAfter(retryAfter, now);
		if (fromMillis.isPresent() && fromRetryAfter.isPresent()) {
			return (fromMillis.get().compareTo(fromRetryAfter.get()) >= 0) ? fromMillis : fromRetryAfter;
		}
		return fromMillis.isPresent() ? fromMillis : fromRetryAfter;
	}

	private static Optional<Duration> parseRetryAfter(String retryAfter, Instant now) {
		if (retryAfter == null || retryAfter.isBlank()) {
			return Optional.empty();
		}
		Optional<Duration> fromSeconds = positiveSeconds(retryAfter, 1d);
		if (fromSeconds.isPresent() || looksNumeric(retryAfter)) {
			return fromSeconds;
		}
		return untilDate(retryAfter.trim(), now);
	}

	private static Optional<Duration> positiveSeconds(String value, double unitsPerSecond) {
		if (value == null || !looksNumeric(value)) {
			return Optional.empty();
		}
		double seconds;
		try {
			seconds = Double.parseDouble(value.trim()) / unitsPerSecond;
		}
		catch (NumberFormatException ex) {
			return Optional.empty();
		}
		if (!(seconds > 0) || Double.isInfinite(seconds)) {
			return Optional.empty();
		}
		double capped = Math.min(seconds, MAX_SECONDS);
		return Optional.of(Duration.ofNanos(Math.round(capped * 1_000_000_000d)));
	}

	/** Plain decimal numbers only: no exponents, hex, NaN or Infinity that Double accepts. */
	private static boolean looksNumeric(String value) {
		String trimmed = value.trim();
		if (trimmed.isEmpty()) {
			return false;
		}
		int digits = 0;
		int dots = 0;
		for (int i = 0; i < trimmed.length(); i++) {
			char c = trimmed.charAt(i);
			if (c >= '0' && c <= '9') {
				digits++;
			}
			else if (c == '.') {
				dots++;
			}
			else if (!(c == '-' || c == '+') || i != 0) {
				return false;
			}
		}
		return digits > 0 && dots <= 1;
	}

	private static Optional<Duration> untilDate(String httpDate, Instant now) {
		try {
			Instant at = ZonedDateTime.parse(httpDate, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
			Duration wait = Duration.between(now, at);
			return (wait.isNegative() || wait.isZero()) ? Optional.empty() : Optional.of(wait);
		}
		catch (DateTimeParseException ex) {
			return Optional.empty();
		}
	}

}
