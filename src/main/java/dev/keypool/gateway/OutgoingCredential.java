package dev.keypool.gateway;

import java.util.List;
import java.util.Map;

import org.springframework.http.HttpHeaders;
import org.springframework.web.server.ServerWebExchange;

/**
 * The credential headers a key set on one pooled attempt, and whether they were still on the
 * request as it went out. A header filter that runs later (the gateway's own, or a route filter
 * after {@code KeyFailover}) may still remove or change them; the upstream's 401 to such a
 * request says nothing about the key, so it must not disable it.
 */
final class OutgoingCredential {

	private static final String ATTR = OutgoingCredential.class.getName();

	private final Map<String, String> headers;

	private volatile boolean sent;

	private OutgoingCredential(Map<String, String> headers) {
		this.headers = headers;
	}

	/** Expects {@code headers} on the attempt about to leave; an earlier attempt's record is replaced. */
	static OutgoingCredential expect(ServerWebExchange exchange, Map<String, String> headers) {
		OutgoingCredential credential = new OutgoingCredential(headers);
		exchange.getAttributes().put(ATTR, credential);
		return credential;
	}

	/**
	 * Records whether {@code outgoing}, the request headers after every header filter, still
	 * carry each credential header once, with the value the key set.
	 */
	static void check(ServerWebExchange exchange, HttpHeaders outgoing) {
		OutgoingCredential credential = exchange.getAttribute(ATTR);
		if (credential != null) {
			credential.sent = credential.headers.entrySet()
				.stream()
				.allMatch((header) -> List.of(header.getValue()).equals(outgoing.get(header.getKey())));
		}
	}

	/** Whether the attempt was seen leaving with its credential intact. */
	boolean sent() {
		return this.sent;
	}

	/** The names of the credential headers, for a log line (never their values). */
	String names() {
		return String.join(", ", this.headers.keySet());
	}

}
