package dev.keypool.gateway;

import java.io.IOException;
import java.io.InputStream;

import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

import dev.keypool.pool.CallerText;

/**
 * The top-level members of a pooled request's JSON body that the gateway acts on, read once per
 * request by a JSON parser over the whole cached body, as the provider reads it: escapes are
 * decoded ({@code "\u006dodel"} is {@code model}) and nested values are skipped unread, so a
 * large body costs one pass of the tokenizer and nothing else. Two {@code model} members are
 * refused ({@link DuplicateModel}): the provider would take the last, the caller may mean the
 * first, and a cooldown must not land on a class the request did not use.
 *
 * @param model the top-level {@code model}, cleaned and bounded ({@link CallerText#model});
 * {@code null} when the body has none or is not a JSON object; {@code ""} when it has one that
 * is not a string, or the object breaks off before a model was read (the provider may still
 * read one: such a request must not take the key-wide scope)
 * @param maxTokens the top-level {@code max_tokens} when it is an integer of at least 0
 * ({@link Long#MAX_VALUE} beyond a {@code long}), {@code -1} when absent, negative or not an integer
 * @param stream whether the top-level {@code stream} is {@code true}
 */
public record RequestFields(String model, long maxTokens, boolean stream) {

	/** A body without any of the fields, or not a JSON object. */
	public static final RequestFields NONE = new RequestFields(null, -1, false);

	/**
	 * Jackson's default read constraints: strings the parse skips are not held, so they are not
	 * limited; a nesting too deep to parse ends the parse (the request's class is then
	 * {@code other}).
	 */
	private static final JsonFactory JSON = new JsonFactory();

	/**
	 * Reads the fields of {@code body}.
	 * @throws DuplicateModel when the body has two top-level {@code model} members
	 */
	static RequestFields parse(CachedBody body) {
		if (body.size() == 0) {
			return NONE;
		}
		String model = null;
		long maxTokens = -1;
		boolean stream = false;
		boolean isObject = false;
		try (InputStream in = body.openStream();
				JsonParser parser = JSON.createParser(ObjectReadContext.empty(), in)) {
			if (parser.nextToken() != JsonToken.START_OBJECT) {
				return NONE;
			}
			isObject = true;
			while (parser.nextToken() == JsonToken.PROPERTY_NAME) {
				String name = parser.currentName();
				JsonToken value = parser.nextToken();
				switch (name) {
					case "model" -> {
						if (model != null) {
							throw new DuplicateModel();
						}
						model = (value == JsonToken.VALUE_STRING) ? CallerText.model(parser.getString()) : "";
					}
					case "max_tokens" -> maxTokens = integer(parser, value);
					case "stream" -> stream = (value == JsonToken.VALUE_TRUE);
					default -> {
						// any other member: its value is skipped below
					}
				}
				// past an object or array value without reading it (nothing for a scalar)
				parser.skipChildren();
			}
		}
		catch (JacksonException | IOException ex) {
			if (!isObject) {
				return NONE;
			}
			return new RequestFields((model != null) ? model : "", maxTokens, stream);
		}
		return new RequestFields(model, maxTokens, stream);
	}

	private static long integer(JsonParser parser, JsonToken value) {
		if (value != JsonToken.VALUE_NUMBER_INT) {
			return -1;
		}
		if (parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
			return (parser.getBigIntegerValue().signum() > 0) ? Long.MAX_VALUE : -1;
		}
		return Math.max(-1, parser.getLongValue());
	}

	/** A body with two top-level {@code model} members; answered 400 before anything goes upstream. */
	static final class DuplicateModel extends RuntimeException {

		DuplicateModel() {
			super("request body has more than one top-level model member", null, false, false);
		}

	}

}
