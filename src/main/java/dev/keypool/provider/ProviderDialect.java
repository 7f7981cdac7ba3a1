package dev.keypool.provider;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

import dev.keypool.pool.FailoverPolicy;
import dev.keypool.pool.Verdict;

/**
 * What differs between providers at the HTTP level: how a key authorizes a request, how
 * failures are told apart, and how errors are worded, so the gateway's own errors look exactly
 * like the provider's to SDKs and tools.
 */
public interface ProviderDialect {

	/** The caller credential headers every dialect removes from pooled requests. */
	Set<String> CALLER_CREDENTIAL_HEADERS = Set.of("x-api-key", "authorization");

	/** The name used in {@code keypool.pools.*.provider}. */
	String name();

	/** The request header that carries the provider key, for dialects that send the key as it is. */
	String keyHeader();

	/** A complete JSON error body in the provider's shape. */
	byte[] errorBody(ErrorKind kind, String message);

	/**
	 * A complete frame that tells a streaming client the stream failed, in the provider's stream
	 * format: a server-sent event ending with the blank line that dispatches it, or a binary
	 * event-stream message.
	 */
	byte[] streamErrorEvent(String message);

	/** A complete JSON error body for a response with {@code status}. */
	default byte[] errorBody(int status, ErrorKind kind, String message) {
		return errorBody(kind, message);
	}

	/** Headers that go with an error the gateway writes itself (an error type header, say). */
	default Map<String, String> errorHeaders(ErrorKind kind) {
		return Map.of();
	}

	/**
	 * How a pooled attempt's response counts for its key. {@code header} reads the response's
	 * headers by name. By default the pool's status lists decide.
	 */
	default Verdict classify(FailoverPolicy policy, int status, UnaryOperator<String> header) {
		return policy.classify(status);
	}

	/**
	 * The model id named in a request path (providers that route by model), or {@code null}
	 * when the model is to be read from the request body.
	 */
	default String modelFromPath(String rawPath) {
		return null;
	}

	/**
	 * Whether the request carries the provider's own credential in a form other than
	 * {@code x-api-key} or {@code Authorization: Bearer} (a request signature): such a caller
	 * brings its own key.
	 */
	default boolean carriesOwnCredential(UnaryOperator<String> header) {
		return false;
	}

	/** Request headers (lower case) removed from pooled requests before a key authorizes them. */
	default Set<String> credentialHeaders() {
		return CALLER_CREDENTIAL_HEADERS;
	}

	/**
	 * Whether a percent-encoded slash may appear in a request path. Off by default: an upstream
	 * may decode it into a separator. Providers whose resource names contain slashes (ARNs)
	 * need it inside one path segment.
	 */
	default boolean allowsEncodedSlash() {
		return false;
	}

	/** What is wrong with a key's credentials, one {@code property: problem} line each; never a value. */
	default List<String> credentialProblems(KeyCredentials credentials) {
		List<String> problems = new ArrayList<>();
		if (KeyCredentials.isBlank(credentials.secret())) {
			problems.add("secret: must not be blank");
		}
		return problems;
	}

	/** The authorizer of one key, from credentials {@link #credentialProblems} accepted. */
	default KeyAuthorizer authorizer(KeyCredentials credentials) {
		return KeyAuthorizer.header(keyHeader(), credentials.secret());
	}

	/**
	 * What the pool compares and masks for a key: every credential value, so a changed one is
	 * a changed key.
	 */
	default String fingerprint(KeyCredentials credentials) {
		return credentials.secret();
	}

	/** The value shown masked to operators (at most 4 characters at each end). */
	default String hintSource(KeyCredentials credentials) {
		return credentials.secret();
	}

}
