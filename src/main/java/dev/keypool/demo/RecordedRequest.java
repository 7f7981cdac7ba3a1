package dev.keypool.demo;

import org.springframework.http.HttpHeaders;

/**
 * What the simulated upstream received, kept so tests can assert what the gateway sent:
 * which key, which headers were stripped, whether a replayed body is byte-identical.
 *
 * @param method the HTTP method
 * @param path the request path, prefix included
 * @param headers a read-only copy of the request headers
 * @param body the request body as UTF-8 (empty when there was none, or when it was too
 * large to read)
 */
public record RecordedRequest(String method, String path, HttpHeaders headers, String body) {

	/** The credential the request carried: {@code x-api-key}, else a bearer token, else null. */
	public String credential() {
		return SimulatedAnthropicApi.credential(this.headers);
	}

}
