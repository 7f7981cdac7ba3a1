package dev.keypool.gateway;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.springframework.http.HttpHeaders;

/**
 * Tells pooled callers from callers with their own key. The caller's credential is
 * {@code x-api-key}, else {@code Authorization: Bearer <token>}.
 * <p>
 * Tokens are compared as SHA-256 digests with {@link MessageDigest#isEqual} against every
 * client, without stopping at a match, so neither the length nor the content of a token nor
 * which client matched leaks through timing.
 */
public class CallerResolver {

	static final String API_KEY_HEADER = "x-api-key";

	private static final String BEARER = "bearer ";

	/** What separates the parts of a merged or malformed credential value. */
	private static final Pattern PARTS = Pattern.compile("[\\s,;]+");

	private final List<ClientDigest> clients;

	/**
	 * @param tokensByClientId each configured client's token, by client id
	 */
	public CallerResolver(Map<String, String> tokensByClientId) {
		this.clients = tokensByClientId.entrySet()
			.stream()
			.map((client) -> new ClientDigest(client.getKey(), sha256(client.getValue())))
			.toList();
	}

	public Caller resolve(HttpHeaders headers) {
		String credential = credential(headers);
		if (credential == null) {
			return Caller.ANONYMOUS;
		}
		byte[] digest = sha256(credential);
		String matched = null;
		for (ClientDigest client : this.clients) {
			if (MessageDigest.isEqual(client.digest(), digest) && matched == null) {
				matched = client.id();
			}
		}
		return (matched != null) ? new Caller(Caller.Kind.CLIENT, matched) : Caller.OWN_KEY;
	}

	/**
	 * The headers without any value that carries a client token, or {@code null} when none
	 * does. A caller may send its own key in one header and a client token in another (Claude
	 * Code does when both of its variables are set), or repeat a header: whichever carries a
	 * client token, that token must never travel on to the provider.
	 */
	HttpHeaders withoutClientTokens(HttpHeaders headers) {
		List<String> apiKeys = headers.getOrEmpty(API_KEY_HEADER);
		List<String> authorizations = headers.getOrEmpty(HttpHeaders.AUTHORIZATION);
		List<String> keptApiKeys = apiKeys.stream().filter((value) -> !isClientToken(value.trim())).toList();
		List<String> keptAuthorizations = authorizations.stream()
			.filter((value) -> !isClientToken(bearerToken(value)))
			.toList();
		if (keptApiKeys.size() == apiKeys.size() && keptAuthorizations.size() == authorizations.size()) {
			return null;
		}
		HttpHeaders scrubbed = new HttpHeaders();
		scrubbed.putAll(headers);
		replace(scrubbed, API_KEY_HEADER, keptApiKeys);
		replace(scrubbed, HttpHeaders.AUTHORIZATION, keptAuthorizations);
		return scrubbed;
	}

	/**
	 * Whether a client token hides inside a credential header without being the header's whole
	 * credential: merged or repeated values ({@code x-api-key: mine, TOKEN}, two
	 * {@code x-api-key} lines), no scheme ({@code Authorization: TOKEN}) or a list
	 * ({@code Bearer TOKEN, Bearer x}). Such a request is neither clearly pooled nor clearly the
	 * caller's own key, and forwarding it would send the token upstream; it is refused. Parts
	 * are compared as digests like whole tokens, never searched for as text.
	 */
	boolean hidesClientToken(HttpHeaders headers) {
		return hidesClientToken(headers.getOrEmpty(API_KEY_HEADER), false)
				|| hidesClientToken(headers.getOrEmpty(HttpHeaders.AUTHORIZATION), true);
	}

	private boolean hidesClientToken(List<String> values, boolean authorization) {
		if (values.isEmpty()) {
			return false;
		}
		if (values.size() == 1) {
			String whole = authorization ? bearerToken(values.get(0)) : values.get(0).trim();
			if (whole != null && isClientToken(whole)) {
				return false;
			}
		}
		boolean found = false;
		for (String value : values) {
			for (String part : PARTS.split(value)) {
				found |= isClientToken(part);
			}
		}
		return found;
	}

	private static void replace(HttpHeaders headers, String name, List<String> values) {
		headers.remove(name);
		if (!values.isEmpty()) {
			headers.put(name, values);
		}
	}

	private boolean isClientToken(String value) {
		if (value == null || value.isEmpty()) {
			return false;
		}
		byte[] digest = sha256(value);
		boolean matched = false;
		for (ClientDigest client : this.clients) {
			matched |= MessageDigest.isEqual(client.digest(), digest);
		}
		return matched;
	}

	private static String bearerToken(String authorization) {
		if (authorization != null && authorization.length() > BEARER.length()
				&& authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
			return authorization.substring(BEARER.length()).trim();
		}
		return null;
	}

	static String credential(HttpHeaders headers) {
		String apiKey = headers.getFirst(API_KEY_HEADER);
		if (apiKey != null && !apiKey.isBlank()) {
			return apiKey.trim();
		}
		String token = bearerToken(headers.getFirst(HttpHeaders.AUTHORIZATION));
		return (token == null || token.isEmpty()) ? null : token;
	}

	private static byte[] sha256(String value) {
		try {
			return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException("SHA-256 is required of every JVM", ex);
		}
	}

	private record ClientDigest(String id, byte[] digest) {
	}

}
