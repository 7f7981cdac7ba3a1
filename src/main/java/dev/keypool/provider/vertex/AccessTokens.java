package dev.keypool.provider.vertex;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

import com.google.auth.oauth2.AccessToken;
import com.google.auth.oauth2.GoogleCredentials;
import com.google.auth.oauth2.ServiceAccountCredentials;

/**
 * The access tokens of one service account: exchanged at the account's {@code token_uri} by
 * Google's auth library, cached until shortly before they expire, and renewed ahead of time.
 * <p>
 * The exchange is blocking HTTP, so it always runs on the given executor, never on the thread
 * that asks: a caller gets a completed future while the cached token is good, or the future of
 * the one exchange in flight. A token within {@link #RENEW_AHEAD} of its refresh point is still
 * handed out while its successor is fetched in the background.
 */
final class AccessTokens {

	/** A token is not used in its last minutes: a request must not arrive with an expired one. */
	static final Duration EXPIRY_MARGIN = Duration.ofMinutes(5);

	/** How long before the margin a renewal starts in the background. */
	static final Duration RENEW_AHEAD = Duration.ofMinutes(5);

	static final String SCOPE = "https://www.googleapis.com/auth/cloud-platform";

	private final GoogleCredentials credentials;

	private final Clock clock;

	private final Executor executor;

	private Cached cached;

	private CompletableFuture<String> inFlight;

	AccessTokens(ServiceAccountCredentials account, Clock clock, Executor executor) {
		this.credentials = account.createScoped(List.of(SCOPE));
		this.clock = clock;
		this.executor = executor;
	}

	synchronized CompletableFuture<String> token() {
		Instant now = this.clock.instant();
		Cached current = this.cached;
		if (current != null && now.isBefore(current.usableUntil())) {
			if (!now.isBefore(current.usableUntil().minus(RENEW_AHEAD))) {
				exchange();
			}
			return CompletableFuture.completedFuture(current.value());
		}
		return exchange();
	}

	/** The exchange in flight, or a new one. */
	private CompletableFuture<String> exchange() {
		if (this.inFlight != null) {
			return this.inFlight;
		}
		CompletableFuture<String> exchange = CompletableFuture.supplyAsync(this::refresh, this.executor);
		this.inFlight = exchange;
		exchange.whenComplete((value, failure) -> done(exchange));
		return exchange;
	}

	private synchronized void done(CompletableFuture<String> exchange) {
		if (this.inFlight == exchange) {
			this.inFlight = null;
		}
	}

	private String refresh() {
		AccessToken token;
		try {
			token = this.credentials.refreshAccessToken();
		}
		catch (IOException ex) {
			throw new UncheckedIOException("token exchange failed", ex);
		}
		Instant expiry = (token.getExpirationTime() != null) ? token.getExpirationTime().toInstant()
				: this.clock.instant().plus(Duration.ofHours(1));
		synchronized (this) {
			this.cached = new Cached(token.getTokenValue(), expiry.minus(EXPIRY_MARGIN));
		}
		return token.getTokenValue();
	}

	/** Never prints a token. */
	@Override
	public String toString() {
		return "AccessTokens[" + ((this.cached != null) ? "cached" : "none") + "]";
	}

	private record Cached(String value, Instant usableUntil) {

		@Override
		public String toString() {
			return "Cached[usableUntil=" + this.usableUntil + "]";
		}

	}

}
