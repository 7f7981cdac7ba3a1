package dev.keypool.pool;

import java.util.Objects;

/**
 * One provider API key of a pool. The id is the stable label used everywhere a key is
 * shown; the secret is only ever sent upstream. Keys of one {@code group} share one
 * rate-limit domain (an organization or workspace): a cooldown on one applies to all.
 */
public record PoolKey(String id, String secret, String group) {

	/** A key in no group. */
	public PoolKey(String id, String secret) {
		this(id, secret, null);
	}

	public PoolKey {
		Objects.requireNonNull(id, "id");
		Objects.requireNonNull(secret, "secret");
		if (id.isBlank()) {
			throw new IllegalArgumentException("key id must not be blank");
		}
		if (secret.isBlank()) {
			throw new IllegalArgumentException("secret of key '" + id + "' must not be blank");
		}
		if (group != null && group.isBlank()) {
			group = null;
		}
	}

	/**
	 * A masked form of the secret for operators: at most 4 characters at each end, fewer for
	 * short secrets, so that at least half of the secret always stays hidden.
	 */
	public String hint() {
		int shown = Math.min(4, this.secret.length() / 4);
		if (shown == 0) {
			return "...";
		}
		return this.secret.substring(0, shown) + "..." + this.secret.substring(this.secret.length() - shown);
	}

	/** Never prints the secret: records would otherwise put it in every log line and exception. */
	@Override
	public String toString() {
		return "PoolKey[id=" + this.id + ", hint=" + hint() + ((this.group != null) ? ", group=" + this.group : "")
				+ "]";
	}

}
