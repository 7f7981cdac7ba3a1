package dev.keypool.demo;

import java.time.Duration;
import java.util.Objects;

/**
 * One API key the simulated upstream knows, and how it answers.
 *
 * @param secret the value callers send in {@code x-api-key}
 * @param behaviour how requests with this key are answered
 * @param rateLimitEvery for {@link Behaviour#RATE_LIMITED_EVERY_NTH}: every n-th request
 * with this key is refused with 429 (1 refuses all of them); ignored otherwise
 * @param retryAfter the wait announced in {@code retry-after} on a 429, sent as whole
 * seconds rounded up
 */
public record SimulatedKey(String secret, Behaviour behaviour, int rateLimitEvery, Duration retryAfter) {

	/** How the simulated upstream answers requests that carry a key. */
	public enum Behaviour {

		/** Every request succeeds. */
		OK,

		/**
		 * Every n-th Messages request with the key gets 429 {@code rate_limit_error}; the others,
		 * and every other request, succeed.
		 */
		RATE_LIMITED_EVERY_NTH,

		/** Every request gets 401 {@code authentication_error}, as for a revoked key. */
		REVOKED,

		/**
		 * Every request gets 529 {@code overloaded_error}: a provider failure that is not
		 * the key's fault.
		 */
		OVERLOADED,

		/**
		 * Requests succeed, but a stream is cut after its first text delta: the connection
		 * closes without the end of the body, as when the upstream connection breaks. The
		 * server logs the cut as an error ("simulated upstream connection break").
		 */
		STREAM_BREAKS

	}

	public SimulatedKey {
		Objects.requireNonNull(behaviour, "behaviour");
		Objects.requireNonNull(retryAfter, "retryAfter");
		if (secret == null || secret.isBlank()) {
			throw new IllegalArgumentException("a simulated key needs a non-blank secret");
		}
		if (behaviour == Behaviour.RATE_LIMITED_EVERY_NTH && rateLimitEvery < 1) {
			throw new IllegalArgumentException("rateLimitEvery must be at least 1, was " + rateLimitEvery);
		}
		if (retryAfter.isNegative()) {
			throw new IllegalArgumentException("retryAfter must not be negative, was " + retryAfter);
		}
	}

	/** A key whose every request succeeds. */
	public static SimulatedKey ok(String secret) {
		return new SimulatedKey(secret, Behaviour.OK, 0, Duration.ZERO);
	}

	/** A key that answers 401 {@code authentication_error} to every request. */
	public static SimulatedKey revoked(String secret) {
		return new SimulatedKey(secret, Behaviour.REVOKED, 0, Duration.ZERO);
	}

	/** A key that answers 529 {@code overloaded_error} to every request. */
	public static SimulatedKey overloaded(String secret) {
		return new SimulatedKey(secret, Behaviour.OVERLOADED, 0, Duration.ZERO);
	}

	/** A key whose streams break after the first text delta; other requests succeed. */
	public static SimulatedKey streamBreaks(String secret) {
		return new SimulatedKey(secret, Behaviour.STREAM_BREAKS, 0, Duration.ZERO);
	}

	/**
	 * A key whose every {@code n}-th request gets 429 with {@code retry-after}; the
	 * others succeed.
	 */
	public static SimulatedKey rateLimitedEvery(String secret, int n, Duration retryAfter) {
		return new SimulatedKey(secret, Behaviour.RATE_LIMITED_EVERY_NTH, n, retryAfter);
	}

	/** Whether the {@code requestNumber}-th request (1-based) with this key is refused with 429. */
	boolean isRateLimited(long requestNumber) {
		return this.behaviour == Behaviour.RATE_LIMITED_EVERY_NTH && requestNumber % this.rateLimitEvery == 0;
	}

	/** The {@code retry-after} header value: whole seconds, rounded up. */
	long retryAfterSeconds() {
		long seconds = this.retryAfter.toSeconds();
		return (this.retryAfter.toNanosPart() > 0) ? seconds + 1 : seconds;
	}

	@Override
	public String toString() {
		return "SimulatedKey[behaviour=" + this.behaviour + ", rateLimitEvery=" + this.rateLimitEvery
				+ ", retryAfter=" + this.retryAfter + "]";
	}

}
