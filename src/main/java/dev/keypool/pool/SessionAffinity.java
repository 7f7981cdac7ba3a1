package dev.keypool.pool;

/**
 * Which key last served each caller session, so a session keeps its key (and the provider's
 * prompt cache, which lives per workspace). Implementations are bounded in size and forget
 * idle sessions; none blocks.
 */
public interface SessionAffinity {

	/** Sticky sessions off: remembers nothing. */
	SessionAffinity NONE = new SessionAffinity() {

		@Override
		public String keyOf(String session) {
			return null;
		}

		@Override
		public void remember(String session, String keyId) {
		}

		@Override
		public long size() {
			return 0;
		}

	};

	/** The id of the key that last served the session, or {@code null}. */
	String keyOf(String session);

	/** The key whose successful response was relayed for the session. */
	void remember(String session, String keyId);

	/** Sessions held now (approximately, for bounded implementations). */
	long size();

}
