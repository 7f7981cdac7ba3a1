package dev.keypool.pool;

import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * What one response said about a key's limits for one model class: for each resource it
 * reported, the limit, what remains and when it resets.
 *
 * @param readings the resources reported, never empty for a report that exists
 */
public record RateLimitReport(Map<RateLimitResource, Reading> readings) {

	public RateLimitReport {
		readings = Collections.unmodifiableMap(new EnumMap<>(readings));
	}

	/**
	 * Reads the {@code anthropic-ratelimit-*} headers; empty when the response has none. A
	 * resource whose limit or remaining is not a number is left out; a reset that is not
	 * RFC 3339 counts as missing.
	 */
	public static Optional<RateLimitReport> parse(Function<String, String> header) {
		Map<RateLimitResource, Reading> readings = null;
		for (RateLimitResource resource : RateLimitResource.values()) {
			Long remaining = number(header.apply(resource.remainingHeader()));
			if (remaining == null) {
				continue;
			}
			Long limit = number(header.apply(resource.limitHeader()));
			Instant reset = instant(header.apply(resource.resetHeader()));
			if (readings == null) {
				readings = new EnumMap<>(RateLimitResource.class);
			}
			readings.put(resource, new Reading(limit, remaining, reset));
		}
		return (readings != null) ? Optional.of(new RateLimitReport(readings)) : Optional.empty();
	}

	/**
	 * Until when the key should be skipped for the class, if the report says its next request
	 * would be refused: requests remaining 0, or a token resource below
	 * {@code minRemainingTokens}. The deadline is the latest reset among the exhausted
	 * resources (a missing reset counts as {@code defaultCooldown} from now); empty when
	 * nothing is exhausted or every such reset has already passed.
	 */
	public Optional<Instant> exhaustedUntil(long minRemainingTokens, Duration defaultCooldown, Instant now) {
		Instant latest = null;
		for (Map.Entry<RateLimitResource, Reading> each : this.readings.entrySet()) {
			Reading reading = each.getValue();
			boolean exhausted = each.getKey().isTokens() ? reading.remaining() < minRemainingTokens
					: reading.remaining() <= 0;
			if (!exhausted) {
				continue;
			}
			Instant until = (reading.reset() != null) ? reading.reset() : now.plus(defaultCooldown);
			if (latest == null || until.isAfter(latest)) {
				latest = until;
			}
		}
		return (latest != null && latest.isAfter(now)) ? Optional.of(latest) : Optional.empty();
	}

	/**
	 * The smallest remaining fraction (remaining / limit) across the resources with a known,
	 * positive limit; 1 when none has one.
	 */
	public double headroom() {
		double smallest = 1.0;
		for (Reading reading : this.readings.values()) {
			if (reading.limit() != null && reading.limit() > 0) {
				smallest = Math.min(smallest, Math.max(0, (double) reading.remaining() / reading.limit()));
			}
		}
		return smallest;
	}

	/** This report with the resources of {@code newer} replacing the same ones here. */
	public RateLimitReport merge(RateLimitReport newer) {
		if (newer.readings.keySet().containsAll(this.readings.keySet())) {
			return newer;
		}
		Map<RateLimitResource, Reading> merged = new EnumMap<>(RateLimitResource.class);
		merged.putAll(this.readings);
		merged.putAll(newer.readings);
		return new RateLimitReport(merged);
	}

	private static Long number(String value) {
		if (value == null || value.isBlank()) {
			return null;
		}
		try {
			return Long.parseLong(value.trim());
		}
		catch (NumberFormatException ex) {
			return null;
		}
	}

	static Instant instant(String value) {
		if (value == null || value.isBlank()) {
			return null;
		}
		String text = value.trim();
		Instant utc = utcSeconds(text);
		if (utc != null) {
			return utc;
		}
		try {
			return OffsetDateTime.parse(text).toInstant();
		}
		catch (DateTimeParseException ex) {
			return null;
		}
	}

	/**
	 * The form Anthropic sends, {@code 2026-01-01T00:00:30Z}, read without a formatter: this
	 * runs for four headers of every response. {@code null} for any other form.
	 */
	private static Instant utcSeconds(String text) {
		if (text.length() != 20 || text.charAt(4) != '-' || text.charAt(7) != '-' || text.charAt(10) != 'T'
				|| text.charAt(13) != ':' || text.charAt(16) != ':' || text.charAt(19) != 'Z') {
			return null;
		}
		int year = digits(text, 0, 4);
		int month = digits(text, 5, 2);
		int day = digits(text, 8, 2);
		int hour = digits(text, 11, 2);
		int minute = digits(text, 14, 2);
		int second = digits(text, 17, 2);
		if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0
				|| minute > 59 || second < 0 || second > 59) {
			return null;
		}
		try {
			long epochDay = java.time.LocalDate.of(year, month, day).toEpochDay();
			return Instant.ofEpochSecond(epochDay * 86_400 + hour * 3_600L + minute * 60L + second);
		}
		catch (java.time.DateTimeException ex) {
			return null;
		}
	}

	private static int digits(String text, int from, int count) {
		int value = 0;
		for (int i = from; i < from + count; i++) {
			char c = text.charAt(i);
			if (c < '0' || c > '9') {
				return -1;
			}
			value = value * 10 + (c - '0');
		}
		return value;
	}

	/**
	 * One resource's figures.
	 *
	 * @param limit the limit, or {@code null} when not reported
	 * @param remaining what remains
	 * @param reset when it is fully replenished, or {@code null} when not reported
	 */
	public record Reading(Long limit, long remaining, Instant reset) {
	}

}
