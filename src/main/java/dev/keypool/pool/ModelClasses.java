package dev.keypool.pool;

import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The model classes of one pool: the provider's rate limits apply per class ({@code opus},
 * {@code sonnet}, {@code haiku}), so cooldowns and reported limits are kept per (key, class).
 * <p>
 * Callers choose the {@code model} they send, so the number of classes tracked by name is
 * bounded: the three current Claude families are known from the start, the first
 * {@value #MAX_NAMED} distinct classes (those included) keep their names, and every later
 * one shares {@link #OTHER}. A request without a model uses the key-wide scope {@link #KEY_WIDE}.
 */
public final class ModelClasses {

	/** The scope of a request without a model; a cooldown in it covers every class. */
	public static final String KEY_WIDE = "*";

	/** The class shared by every model beyond the bound. */
	public static final String OTHER = "other";

	/** Classes tracked by name per pool, besides {@link #OTHER}. */
	public static final int MAX_NAMED = 16;

	private static final int MAX_NAME_LENGTH = 64;

	private static final String CLAUDE_PREFIX = "claude-";

	private final Set<String> named = ConcurrentHashMap.newKeySet();

	public ModelClasses() {
		this.named.add("opus");
		this.named.add("sonnet");
		this.named.add("haiku");
	}

	/**
	 * The tracked class of a model id: {@link #KEY_WIDE} for none, the class by
	 * {@link #classOf} while fewer than {@value #MAX_NAMED} are known, else {@link #OTHER}.
	 */
	public String resolve(String model) {
		String name = classOf(model);
		if (name == null) {
			return KEY_WIDE;
		}
		if (this.named.contains(name)) {
			return name;
		}
		synchronized (this.named) {
			if (this.named.size() < MAX_NAMED && name.length() <= MAX_NAME_LENGTH && !name.equals(KEY_WIDE)) {
				this.named.add(name);
				return name;
			}
		}
		return OTHER;
	}

	/** The classes known by name so far. */
	public Set<String> named() {
		return Set.copyOf(this.named);
	}

	/**
	 * The class a model id belongs to: the first {@code -}-separated word after
	 * {@code claude-} made of letters only, lower-cased ({@code claude-opus-4-7} →
	 * {@code opus}, {@code claude-3-5-haiku-20241022} → {@code haiku}); an id with no such word
	 * is its own class, lower-cased. {@code null} for a missing or blank id.
	 */
	public static String classOf(String model) {
		if (model == null || model.isBlank()) {
			return null;
		}
		String id = model.trim().toLowerCase(Locale.ROOT);
		if (id.startsWith(CLAUDE_PREFIX)) {
			// word by word without splitting: this runs once per pooled request
			int start = CLAUDE_PREFIX.length();
			while (start < id.length()) {
				int end = id.indexOf('-', start);
				end = (end < 0) ? id.length() : end;
				if (isLetters(id, start, end)) {
					return id.substring(start, end);
				}
				start = end + 1;
			}
		}
		return id;
	}

	private static boolean isLetters(String text, int start, int end) {
		if (start == end) {
			return false;
		}
		for (int i = start; i < end; i++) {
			char c = text.charAt(i);
			if (c < 'a' || c > 'z') {
				return false;
			}
		}
		return true;
	}

}
