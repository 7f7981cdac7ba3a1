package dev.keypool.pool;

/**
 * Text a caller chose (a model id, a session id), cleaned once where it is read, so that
 * nothing downstream (state, Redis, a log line, a metric label, a span attribute) ever sees a
 * control character or an unbounded value: a CR, LF or ESC in a model id would otherwise
 * forge or colour access-log lines.
 */
public final class CallerText {

	/** Longest model id kept; longer ones are cut (no provider's id comes near it). */
	public static final int MAX_MODEL_LENGTH = 256;

	/**
	 * Longest session id used; a longer one is ignored everywhere (sticky sessions, the access
	 * log), so a caller cannot fill the session memory with large values.
	 */
	public static final int MAX_SESSION_ID_LENGTH = 256;

	private static final char REPLACEMENT = '_';

	private CallerText() {
	}

	/** A model id, cleaned and cut to {@value #MAX_MODEL_LENGTH} characters; {@code null} for none. */
	public static String model(String model) {
		return (model != null) ? clean(model, MAX_MODEL_LENGTH) : null;
	}

	/**
	 * The session id a header carries, cleaned; {@code null} when it is missing, blank or longer
	 * than {@value #MAX_SESSION_ID_LENGTH} characters.
	 */
	public static String sessionId(String header) {
		if (header == null || header.isBlank() || header.length() > MAX_SESSION_ID_LENGTH) {
			return null;
		}
		return clean(header, MAX_SESSION_ID_LENGTH);
	}

	/**
	 * At most {@code maxLength} characters (never half a surrogate pair), each control or
	 * format character (C0, DEL, C1, line and paragraph separators, bidirectional overrides)
	 * replaced by {@code _}. Returns {@code text} itself when nothing changes.
	 */
	public static String clean(String text, int maxLength) {
		int length = Math.min(text.length(), maxLength);
		if (length < text.length() && length > 0 && Character.isHighSurrogate(text.charAt(length - 1))) {
			length--;
		}
		int first = 0;
		while (first < length && !isUnsafe(text.charAt(first))) {
			first++;
		}
		if (first == length) {
			return (length == text.length()) ? text : text.substring(0, length);
		}
		StringBuilder out = new StringBuilder(length);
		out.append(text, 0, first);
		for (int i = first; i < length; i++) {
			char c = text.charAt(i);
			out.append(isUnsafe(c) ? REPLACEMENT : c);
		}
		return out.toString();
	}

	private static boolean isUnsafe(char c) {
		if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
			return true;
		}
		if (c < 0x7f) {
			return false;
		}
		int type = Character.getType(c);
		return type == Character.FORMAT || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR;
	}

}
