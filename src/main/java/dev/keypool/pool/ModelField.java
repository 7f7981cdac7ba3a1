package dev.keypool.pool;

import java.nio.charset.StandardCharsets;
import java.util.function.IntUnaryOperator;

/**
 * Finds the top-level {@code "model"} string of a JSON request body in one forward scan,
 * without parsing the rest: no objects are built, nested values are skipped by depth, and the
 * scan stops at the model or after {@link #SCAN_LIMIT} bytes. A body that is not a JSON object
 * has no model.
 */
public final class ModelField {

	/** How far into the body the model is looked for; clients put it first in practice. */
	public static final int SCAN_LIMIT = 256 * 1024;

	private static final int MAX_VALUE_BYTES = 256;

	private static final byte[] NAME = "model".getBytes(StandardCharsets.US_ASCII);

	private ModelField() {
	}

	/**
	 * The value of the top-level {@code model} member, or {@code null}.
	 *
	 * @param byteAt the byte at an index from 0 (unsigned or signed, only ASCII is compared)
	 * @param length how many bytes the body has
	 */
	public static String find(IntUnaryOperator byteAt, int length) {
		int end = Math.min(length, SCAN_LIMIT);
		int i = skipSpace(byteAt, 0, end);
		if (i >= end || byteAt.applyAsInt(i) != '{') {
			return null;
		}
		int depth = 0;
		boolean expectName = false;
		while (i < end) {
			int c = byteAt.applyAsInt(i) & 0xff;
			if (c == '"') {
				int close = stringEnd(byteAt, i, end);
				if (close < 0) {
					return null;
				}
				if (depth == 1 && expectName && isName(byteAt, i + 1, close)) {
					int colon = skipSpace(byteAt, close + 1, end);
					if (colon >= end || byteAt.applyAsInt(colon) != ':') {
						return null;
					}
					int value = skipSpace(byteAt, colon + 1, end);
					if (value >= end || byteAt.applyAsInt(value) != '"') {
						return null;
					}
					int valueEnd = stringEnd(byteAt, value, end);
					return (valueEnd < 0) ? null : text(byteAt, value + 1, valueEnd);
				}
				expectName = false;
				i = close + 1;
				continue;
			}
			if (c == '{' || c == '[') {
				depth++;
				expectName = (c == '{' && depth == 1);
			}
			else if (c == '}' || c == ']') {
				depth--;
				if (depth <= 0) {
					return null;
				}
			}
			else if (c == ',' && depth == 1) {
				expectName = true;
			}
			i++;
		}
		return null;
	}

	/** Index of the quote closing the string opening at {@code open}, or -1. */
	private static int stringEnd(IntUnaryOperator byteAt, int open, int end) {
		for (int i = open + 1; i < end; i++) {
			int c = byteAt.applyAsInt(i) & 0xff;
			if (c == '\\') {
				i++;
			}
			else if (c == '"') {
				return i;
			}
		}
		return -1;
	}

	private static boolean isName(IntUnaryOperator byteAt, int from, int to) {
		if (to - from != NAME.length) {
			return false;
		}
		for (int i = 0; i < NAME.length; i++) {
			if (byteAt.applyAsInt(from + i) != NAME[i]) {
				return false;
			}
		}
		return true;
	}

	private static String text(IntUnaryOperator byteAt, int from, int to) {
		int length = Math.min(to - from, MAX_VALUE_BYTES);
		byte[] bytes = new byte[length];
		for (int i = 0; i < length; i++) {
			bytes[i] = (byte) byteAt.applyAsInt(from + i);
		}
		return new String(bytes, StandardCharsets.UTF_8);
	}

	private static int skipSpace(IntUnaryOperator byteAt, int from, int end) {
		int i = from;
		while (i < end) {
			int c = byteAt.applyAsInt(i);
			if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
				break;
			}
			i++;
		}
		return i;
	}

}
