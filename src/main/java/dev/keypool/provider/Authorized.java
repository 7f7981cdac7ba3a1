package dev.keypool.provider;

import java.util.Map;

/**
 * What a key adds to one attempt.
 *
 * @param rawPath the path to send (percent-encoded), the caller's unless the key needs its own
 * @param headers the headers to set, by name; they replace any of the same name
 */
public record Authorized(String rawPath, Map<String, String> headers) {

	public Authorized {
		headers = Map.copyOf(headers);
	}

}
