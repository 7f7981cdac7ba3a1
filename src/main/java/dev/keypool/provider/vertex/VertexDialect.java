package dev.keypool.provider.vertex;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

import com.google.auth.oauth2.ServiceAccountCredentials;

import dev.keypool.provider.AnthropicDialect;
import dev.keypool.provider.ErrorKind;
import dev.keypool.provider.Json;
import dev.keypool.provider.KeyAuthorizer;
import dev.keypool.provider.KeyCredentials;
import dev.keypool.provider.ProviderDialect;

/**
 * Claude on Google Vertex AI: each key is a service account with its own project and region;
 * attempts carry an access token of that account (obtained and refreshed off the request path)
 * and go to the key's own project and region. Errors are Google's
 * ({@code {"error":{"code":429,"message":...,"status":"RESOURCE_EXHAUSTED"}}}); streams are the
 * Anthropic API's server-sent events.
 */
public final class VertexDialect implements ProviderDialect {

	public static final String NAME = "vertex";

	private static final String MODELS = "/publishers/anthropic/models/";

	private static final int MAX_MODEL_ID_LENGTH = 256;

	private final AnthropicDialect streams = new AnthropicDialect();

	private final Clock clock;

	private final Executor refreshes;

	/**
	 * @param clock judges token expiry
	 * @param refreshes where token exchanges run (they block on HTTP): never an event loop
	 */
	public VertexDialect(Clock clock, Executor refreshes) {
		this.clock = clock;
		this.refreshes = refreshes;
	}

	@Override
	public String name() {
		return NAME;
	}

	@Override
	public String keyHeader() {
		return "authorization";
	}

	@Override
	public byte[] errorBody(ErrorKind kind, String message) {
		return errorBody(defaultCode(kind), kind, message);
	}

	@Override
	public byte[] errorBody(int status, ErrorKind kind, String message) {
		return ("{\"error\":{\"code\":" + status + ",\"message\":\"" + Json.escape(message) + "\",\"status\":\""
				+ status(kind) + "\"}}").getBytes(StandardCharsets.UTF_8);
	}

	static String status(ErrorKind kind) {
		return switch (kind) {
			case AUTHENTICATION -> "UNAUTHENTICATED";
			case RATE_LIMIT -> "RESOURCE_EXHAUSTED";
			case INVALID_REQUEST, REQUEST_TOO_LARGE -> "INVALID_ARGUMENT";
			case OVERLOADED -> "UNAVAILABLE";
			case UPSTREAM -> "INTERNAL";
			case TIMEOUT, REQUEST_TIMEOUT -> "DEADLINE_EXCEEDED";
		};
	}

	private static int defaultCode(ErrorKind kind) {
		return switch (kind) {
			case AUTHENTICATION -> 401;
			case RATE_LIMIT -> 429;
			case INVALID_REQUEST -> 400;
			case REQUEST_TOO_LARGE -> 413;
			case OVERLOADED -> 503;
			case UPSTREAM -> 502;
			case TIMEOUT -> 504;
			case REQUEST_TIMEOUT -> 408;
		};
	}

	/** Vertex streams Anthropic's events, so a broken stream ends with Anthropic's error event. */
	@Override
	public byte[] streamErrorEvent(String message) {
		return this.streams.streamErrorEvent(message);
	}

	/** {@code …/publishers/anthropic/models/claude-opus-4-7@20260101:streamRawPredict} → {@code claude-opus-4-7}. */
	@Override
	public String modelFromPath(String rawPath) {
		if (rawPath == null) {
			return null;
		}
		int models = rawPath.indexOf(MODELS);
		if (models < 0) {
			return null;
		}
		String rest = rawPath.substring(models + MODELS.length());
		int end = rest.indexOf(':');
		String model = (end >= 0) ? rest.substring(0, end) : rest;
		int version = model.indexOf('@');
		if (version >= 0) {
			// the version is not part of the model's name: claude-3-5-haiku@20241022 is a haiku
			model = model.substring(0, version);
		}
		return (model.isEmpty() || model.length() > MAX_MODEL_ID_LENGTH || model.indexOf('/') >= 0) ? null : model;
	}

	@Override
	public List<String> credentialProblems(KeyCredentials key) {
		List<String> problems = new ArrayList<>();
		if (isBlank(key.credentials())) {
			problems.add("credentials: must hold the service account's JSON key");
		}
		else if (serviceAccount(key.credentials()) == null) {
			problems.add("credentials: is not a service-account JSON key (type service_account, client_email, "
					+ "private_key, token_uri)");
		}
		if (isBlank(key.project())) {
			problems.add("project: must name the Google Cloud project the key serves");
		}
		else if (!key.project().matches("[a-z0-9.:-]{1,64}")) {
			problems.add("project: is not a Google Cloud project id");
		}
		if (isBlank(key.region())) {
			problems.add("region: must name the Vertex AI location, such as us-east5 or global");
		}
		else if (!key.region().matches("[a-z0-9-]{1,32}")) {
			problems.add("region: is not a Vertex AI location such as us-east5");
		}
		if (!isBlank(key.secret())) {
			problems.add("secret: a Vertex key is a service account (credentials, project, region), not an API key");
		}
		return problems;
	}

	@Override
	public KeyAuthorizer authorizer(KeyCredentials key) {
		AccessTokens tokens = new AccessTokens(serviceAccount(key.credentials()), this.clock, this.refreshes);
		return new VertexAuthorizer(tokens, key.project(), key.region());
	}

	@Override
	public String fingerprint(KeyCredentials key) {
		return key.credentials() + "\n" + key.project() + "\n" + key.region();
	}

	/** The service account's e-mail (masked): it names the account without revealing the key. */
	@Override
	public String hintSource(KeyCredentials key) {
		ServiceAccountCredentials account = serviceAccount(key.credentials());
		return (account != null) ? account.getClientEmail() : null;
	}

	static ServiceAccountCredentials serviceAccount(String json) {
		if (isBlank(json)) {
			return null;
		}
		try {
			return ServiceAccountCredentials.fromStream(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)));
		}
		catch (IOException | RuntimeException ex) {
			return null;
		}
	}

	private static boolean isBlank(String value) {
		return value == null || value.isBlank();
	}

}
