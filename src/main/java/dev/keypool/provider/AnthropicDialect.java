package dev.keypool.provider;

import java.nio.charset.StandardCharsets;

/**
 * The Anthropic Messages API: {@code x-api-key}, errors as
 * {@code {"type":"error","error":{"type":"rate_limit_error","message":"..."}}}.
 */
public final class AnthropicDialect implements ProviderDialect {

	public static final String NAME = "anthropic";

	@Override
	public String name() {
		return NAME;
	}

	@Override
	public String keyHeader() {
		return "x-api-key";
	}

	@Override
	public byte[] errorBody(ErrorKind kind, String message) {
		return errorJson(errorType(kind), message).getBytes(StandardCharsets.UTF_8);
	}

	@Override
	public byte[] streamErrorEvent(String message) {
		return ("event: error\ndata: " + errorJson("api_error", message) + "\n\n").getBytes(StandardCharsets.UTF_8);
	}

	static String errorType(ErrorKind kind) {
		return switch (kind) {
			case AUTHENTICATION -> "authentication_error";
			case RATE_LIMIT -> "rate_limit_error";
			case INVALID_REQUEST -> "invalid_request_error";
			case OVERLOADED -> "overloaded_error";
			case REQUEST_TOO_LARGE -> "request_too_large";
			case REQUEST_TIMEOUT -> "timeout_error";
			case UPSTREAM, TIMEOUT -> "api_error";
		};
	}

	private static String errorJson(String type, String message) {
		return "{\"type\":\"error\",\"error\":{\"type\":\"" + type + "\",\"message\":\"" + Json.escape(message) + "\"}}";
	}

}
