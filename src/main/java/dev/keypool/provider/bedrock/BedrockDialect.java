package dev.keypool.provider.bedrock;

import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

import software.amazon.eventstream.HeaderValue;
import software.amazon.eventstream.Message;

import dev.keypool.pool.FailoverPolicy;
import dev.keypool.pool.Verdict;
import dev.keypool.provider.ErrorKind;
import dev.keypool.provider.KeyAuthorizer;
import dev.keypool.provider.Json;
import dev.keypool.provider.KeyCredentials;
import dev.keypool.provider.ProviderDialect;

/**
 * Claude on Amazon Bedrock: every attempt signed afresh with SigV4 for the key's region (or a
 * Bedrock API key sent as {@code Authorization: Bearer}), errors as {@code {"message":...}}
 * with {@code x-amzn-ErrorType}, streams as {@code application/vnd.amazon.eventstream}.
 */
public final class BedrockDialect implements ProviderDialect {

	public static final String NAME = "bedrock";

	/** Bedrock's error type header; values may carry a {@code :<namespace>} suffix. */
	public static final String ERROR_TYPE_HEADER = "x-amzn-ErrorType";

	/** Content type of Bedrock's streaming responses. */
	public static final String EVENT_STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream";

	/** 403 error types that say the credential itself is not accepted. */
	private static final Set<String> CREDENTIAL_REJECTED = Set.of("UnrecognizedClientException",
			"InvalidSignatureException", "ExpiredTokenException", "InvalidClientTokenId");

	private static final Set<String> CREDENTIAL_HEADERS = Set.of("x-api-key", "authorization", "x-amz-date",
			"x-amz-security-token", "x-amz-content-sha256");

	private static final String MODEL_PATH = "/model/";

	/** Longer model ids are not read (a caller chooses the path; state stays bounded anyway). */
	private static final int MAX_MODEL_ID_LENGTH = 512;

	private static final String SIGV4 = "AWS4-HMAC-SHA256";

	private final Clock clock;

	/** @param clock the signing time of every signature */
	public BedrockDialect(Clock clock) {
		this.clock = clock;
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
		return ("{\"message\":\"" + Json.escape(message) + "\"}").getBytes(StandardCharsets.UTF_8);
	}

	@Override
	public Map<String, String> errorHeaders(ErrorKind kind) {
		return Map.of(ERROR_TYPE_HEADER, errorType(kind));
	}

	static String errorType(ErrorKind kind) {
		return switch (kind) {
			case AUTHENTICATION -> "UnrecognizedClientException";
			case RATE_LIMIT -> "ThrottlingException";
			case INVALID_REQUEST, REQUEST_TOO_LARGE -> "ValidationException";
			case OVERLOADED -> "ServiceUnavailableException";
			// the AWS SDKs retry it
			case REQUEST_TIMEOUT -> "RequestTimeoutException";
			case UPSTREAM, TIMEOUT -> "InternalServerException";
		};
	}

	/**
	 * An event-stream exception message, which the AWS SDKs and Claude Code report as a
	 * failed stream ({@code internalServerException} is a member of every Bedrock stream).
	 */
	@Override
	public byte[] streamErrorEvent(String message) {
		Map<String, HeaderValue> headers = new LinkedHashMap<>();
		headers.put(":message-type", HeaderValue.fromString("exception"));
		headers.put(":exception-type", HeaderValue.fromString("internalServerException"));
		headers.put(":content-type", HeaderValue.fromString("application/json"));
		ByteBuffer encoded = new Message(headers, errorBody(ErrorKind.UPSTREAM, message)).toByteBuffer();
		byte[] frame = new byte[encoded.remaining()];
		encoded.get(frame);
		return frame;
	}

	/**
	 * 429 and {@code ThrottlingException} cool down; a 403 disables the key only when it says
	 * the credential was refused (a 403 {@code AccessDeniedException}, such as a model not
	 * enabled in the account, is relayed); the pool's lists decide the rest.
	 */
	@Override
	public Verdict classify(FailoverPolicy policy, int status, UnaryOperator<String> header) {
		String type = errorTypeOf(header.apply(ERROR_TYPE_HEADER));
		if ("ThrottlingException".equals(type) && policy.cooldownOn().contains(429)) {
			return Verdict.COOL_DOWN;
		}
		Verdict verdict = policy.classify(status);
		if (verdict == Verdict.DISABLE && status == 403 && type != null && !CREDENTIAL_REJECTED.contains(type)) {
			return Verdict.RELAY;
		}
		return verdict;
	}

	/** {@code UnrecognizedClientException:http://internal.amazon.com/...} → {@code UnrecognizedClientException}. */
	static String errorTypeOf(String header) {
		if (header == null || header.isBlank()) {
			return null;
		}
		int colon = header.indexOf(':');
		return ((colon >= 0) ? header.substring(0, colon) : header).trim();
	}

	/**
	 * The model of {@code /model/{modelId}/...}, reduced to its Claude model name: region
	 * prefixes of inference profiles ({@code us.}, {@code global.}), the {@code anthropic.}
	 * vendor prefix and an ARN's resource path are dropped
	 * ({@code arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-opus-4-7-v1:0}
	 * → {@code claude-opus-4-7-v1:0}).
	 */
	@Override
	public String modelFromPath(String rawPath) {
		if (rawPath == null || !rawPath.startsWith(MODEL_PATH)) {
			return null;
		}
		int end = rawPath.indexOf('/', MODEL_PATH.length());
		String encoded = rawPath.substring(MODEL_PATH.length(), (end < 0) ? rawPath.length() : end);
		if (encoded.isEmpty() || encoded.length() > MAX_MODEL_ID_LENGTH) {
			return null;
		}
		String modelId;
		try {
			modelId = URLDecoder.decode(encoded.replace("+", "%2B"), StandardCharsets.UTF_8);
		}
		catch (IllegalArgumentException ex) {
			return null;
		}
		return claudeModel(modelId);
	}

	static String claudeModel(String modelId) {
		String id = modelId;
		int slash = id.lastIndexOf('/');
		if (id.startsWith("arn:") && slash >= 0) {
			id = id.substring(slash + 1);
		}
		int vendor = id.toLowerCase(Locale.ROOT).indexOf("anthropic.");
		if (vendor >= 0) {
			id = id.substring(vendor + "anthropic.".length());
		}
		return id.isBlank() ? null : id;
	}

	/** A caller signing with its own AWS credentials brings its own key. */
	@Override
	public boolean carriesOwnCredential(UnaryOperator<String> header) {
		String authorization = header.apply("authorization");
		return authorization != null && authorization.regionMatches(true, 0, SIGV4, 0, SIGV4.length());
	}

	@Override
	public Set<String> credentialHeaders() {
		return CREDENTIAL_HEADERS;
	}

	/** Inference profile and application profile ARNs carry a slash in the model id. */
	@Override
	public boolean allowsEncodedSlash() {
		return true;
	}

	@Override
	public List<String> credentialProblems(KeyCredentials key) {
		List<String> problems = new ArrayList<>();
		boolean apiKey = !isBlank(key.secret());
		boolean aws = !isBlank(key.accessKeyId()) || !isBlank(key.secretAccessKey());
		if (apiKey && aws) {
			problems.add("secret: a Bedrock key is either a Bedrock API key (secret) or AWS credentials "
					+ "(access-key-id, secret-access-key), not both");
			return problems;
		}
		if (!apiKey && !aws) {
			problems.add("access-key-id: a Bedrock key needs access-key-id and secret-access-key (and region), "
					+ "or a Bedrock API key in secret");
			return problems;
		}
		if (aws) {
			if (isBlank(key.accessKeyId())) {
				problems.add("access-key-id: must not be blank");
			}
			if (isBlank(key.secretAccessKey())) {
				problems.add("secret-access-key: must not be blank");
			}
			if (isBlank(key.region())) {
				problems.add("region: must name the AWS region the key signs for, such as us-east-1");
			}
		}
		else if (!isBlank(key.sessionToken())) {
			problems.add("session-token: only goes with access-key-id and secret-access-key");
		}
		if (key.region() != null && !key.region().isBlank() && !key.region().matches("[a-z0-9-]{1,32}")) {
			problems.add("region: is not an AWS region name such as us-east-1");
		}
		return problems;
	}

	@Override
	public KeyAuthorizer authorizer(KeyCredentials key) {
		if (!isBlank(key.secret())) {
			return KeyAuthorizer.header("authorization", "Bearer " + key.secret());
		}
		return new SigV4Authorizer(key.accessKeyId(), key.secretAccessKey(), key.sessionToken(), key.region(),
				this.clock);
	}

	@Override
	public String fingerprint(KeyCredentials key) {
		if (!isBlank(key.secret())) {
			return key.secret();
		}
		return key.accessKeyId() + "\n" + key.secretAccessKey() + "\n"
				+ ((key.sessionToken() != null) ? key.sessionToken() : "") + "\n" + key.region();
	}

	/** The access key id (masked): it names the credential without revealing the secret. */
	@Override
	public String hintSource(KeyCredentials key) {
		return isBlank(key.secret()) ? key.accessKeyId() : key.secret();
	}

	private static boolean isBlank(String value) {
		return value == null || value.isBlank();
	}

}
