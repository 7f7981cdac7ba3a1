package dev.keypool.provider;

import java.io.InputStream;
import java.util.function.Supplier;

/**
 * One upstream attempt as it will go out: where to, and the body, for a signature.
 *
 * @param method the HTTP method
 * @param scheme the upstream scheme ({@code https})
 * @param host the upstream host
 * @param port the upstream port, -1 for the scheme's default
 * @param rawPath the path as sent, percent-encoded
 * @param rawQuery the query as sent, percent-encoded, or {@code null}
 * @param body opens the body (from its start) each time it is called; the body stays valid
 * until the attempt's stage completes
 */
public record AttemptRequest(String method, String scheme, String host, int port, String rawPath, String rawQuery,
		Supplier<InputStream> body) {

}
