package dev.keypool.budget;

/**
 * One client's budget; a {@code null} limit is no limit.
 *
 * @param requestsPerMinute requests in any 60 seconds
 * @param tokensPerMinute tokens charged in the last 60 seconds (whole seconds)
 * @param tokensPerDay tokens charged since 00:00 UTC
 */
public record ClientLimits(Long requestsPerMinute, Long tokensPerMinute, Long tokensPerDay) {

	/** No limit at all. */
	public static final ClientLimits NONE = new ClientLimits(null, null, null);

	public boolean any() {
		return this.requestsPerMinute != null || this.tokensPerMinute != null || this.tokensPerDay != null;
	}

	static long orZero(Long limit) {
		return (limit != null) ? limit : 0;
	}

}
