package dev.keypool.gateway;

import java.io.InputStream;

import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

/**
 * The top-level members of a cached request body the gateway acts on, read once with a JSON
 * parser (escapes decoded, nested objects skipped).
 *
 * @param model the top-level {@code model}, or {@code null}
 * @param maxTokens the top-level {@code max_tokens}, or {@code -1} when absent or not a number
 * @param stream whether the top-level {@code stream} is {@code true}
 */
public record RequestFields(String model, long maxTokens, boolean stream) {

	static final RequestFields NONE = new RequestFields(null, -1, false);

	private static final JsonFactory JSON = new JsonFactory();

	/** The fields of {@code body}; {@link #NONE} for an empty body or one that is not a JSON object. */
	static RequestFields parse(CachedBody body) {
		if (body.size() == 0) {
			return NONE;
		}
		String model = null;
		long maxTokens = -1;
		boolean stream = false;
		try (InputStream in = body.openStream();
				JsonParser parser = JSON.createParser(ObjectReadContext.empty(), in)) {
			if (parser.nextToken() != JsonToken.START_OBJECT) {
				return NONE;
			}
			for (JsonToken token = parser.nextToken(); token == JsonToken.PROPERTY_NAME; token = parser.nextToken()) {
				String name = parser.currentName();
				JsonToken value = parser.nextToken();
				switch (name) {
					case "model" -> model = (value == JsonToken.VALUE_STRING) ? parser.getString() : model;
					case "max_tokens" -> maxTokens = (value == JsonToken.VALUE_NUMBER_INT && parser.getLongValue() >= 0)
							? parser.getLongValue() : -1;
					case "stream" -> stream = value == JsonToken.VALUE_TRUE;
					default -> parser.skipChildren();
				}
			}
		}
		catch (JacksonException | java.io.IOException ex) {
			return new RequestFields(model, maxTokens, stream);
		}
		return new RequestFields(model, maxTokens, stream);
	}

}
