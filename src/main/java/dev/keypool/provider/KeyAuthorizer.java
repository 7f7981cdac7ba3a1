package dev.keypool.provider;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Turns a pooled request into one the provider accepts with one key: a header with the key,
 * a fresh signature, or an access token, and possibly a path of the key's own.
 * <p>
 * Called on an event-loop thread for every attempt: it must not block. Work that waits (a
 * token exchange) completes the stage later, from another thread.
 */
@FunctionalInterface
public interface KeyAuthorizer {

	CompletionStage<Authorized> authorize(AttemptRequest request);

	/** Sends {@code value} in {@code header}, as it is. */
	static KeyAuthorizer header(String header, String value) {
		Map<String, String> headers = Map.of(header, value);
		return (request) -> CompletableFuture.completedFuture(new Authorized(request.rawPath(), headers));
	}

}
