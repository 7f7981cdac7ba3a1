package dev.keypool.pool;

import java.util.Objects;

/**
 * One provider API key of a pool. The id is the stable label used everywhere a key is
 * shown; the secret is only ever sent upstream. Keys of one {@code group} share one
 * rate-limit domain (an organization or workspace): a cooldown on one applies to all.
 * A key made of several credential values (AWS credentials, a service account) has all of
 * them in {@code secret}, so a changed value is a changed key, and shows operators a masked
 * {@code hintSource} (the access key id) instead.
 */
public record PoolKey(String id, String secret, String group, String hintSource) {

	/** A key in no group. */
	public PoolKey(String id, String secret) {
		this(id, secret, null);
	}

	/** A key whose hint is taken from its secret. */
	public PoolKey(String id, String secret, String group) {
		this(id, secret, group, null);
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
		if (hintSource != null && hintSource.isBlank()) {
			hintSource = null;
		}
	}

	/**
	 * A masked form of the secret for operators: at most 4 characters at each end, fewer for
	 * short secrets, so that at least half of the secret always stays hidden.
	 */
	public String hint() {
		String shownFrom = (this.hintSource != null) ? this.hintSource : this.secret;
		int shown = Math.min(4, shownFrom.length() / 4);
		if (shown == 0) {
			return "...";
		}
		return shownFrom.substring(0, shown) + "..." + shownFrom.substring(shownFrom.length() - shown);
	}

	/** Never prints the secret: records would otherwise put it in every log line and exception. */
	@Override
	public String toString() {
		return "PoolKey[id=" + this.id + ", hint=" + hint() + ((this.group != null) ? ", group=" + this.group : "")
				+ "]";
	}

}
