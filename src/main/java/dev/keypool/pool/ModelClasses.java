package dev.keypool.pool;

import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The model classes of one pool: the provider's rate limits apply per class ({@code opus},
 * {@code sonnet}, {@code haiku}), so cooldowns and reported limits are kept per (key, class).
 * <p>
 * Callers choose the {@code model} they send, so the classes tracked by name are bounded and
 * a name is earned: the three current Claude families are known from the start; any other
 * class gets its name only once the provider has answered a request for it with a 2xx
 * ({@link #claim}), while fewer than {@value #MAX_NAMED} are named, and only if it reads as a
 * model id (at most {@value #MAX_NAME_LENGTH} of {@code [a-z0-9._:@/-]}). Until then, and for
 * good once the names are taken, it shares {@link #OTHER}: ids the provider refuses (typos,
 * garbage, a flood of random ids) never take a name. A request without a model uses the
 * key-wide scope {@link #KEY_WIDE}.
 */
public final class ModelClasses {

	/** The scope of a request without a model; a cooldown in it covers every class. */
	public static final String KEY_WIDE = "*";

	/** The class shared by every model without a name of its own. */
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
	 * The tracked class of a request's model id: {@link #KEY_WIDE} for none ({@code null}), the
	 * class by {@link #classOf} once it has a name, else {@link #OTHER} (a blank id too: the
	 * request has a model, so it never takes the key-wide scope).
	 */
	public String resolve(String model) {
		if (model == null) {
			return KEY_WIDE;
		}
		String name = classOf(model);
		return (name != null && this.named.contains(name)) ? name : OTHER;
	}

	/**
	 * The provider served {@code model}: its class gets a name if it has none yet, reads as a
	 * model id and a name is free. Returns the class as {@link #resolve} now gives it.
	 */
	public String claim(String model) {
		String name = classOf(model);
		if (name == null || this.named.contains(name)) {
			return resolve(model);
		}
		if (!isPlausibleName(name)) {
			return OTHER;
		}
		synchronized (this.named) {
			if (this.named.size() < MAX_NAMED) {
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

	private static boolean isPlausibleName(String name) {
		if (name.length() > MAX_NAME_LENGTH || name.equals(OTHER)) {
			return false;
		}
		for (int i = 0; i < name.length(); i++) {
			char c = name.charAt(i);
			boolean allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'
					|| c == ':' || c == '@' || c == '/';
			if (!allowed) {
				return false;
			}
		}
		return true;
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
