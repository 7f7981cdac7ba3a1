package dev.keypool.pool;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The name a key's facts are stored under: {@code <key id>#<fingerprint>}. The fingerprint is
 * a salted SHA-256 of the secret (salted with the pool name and key id), cut to 48 bits: the
 * same on every replica, so state is shared, and different for a new secret, so a replaced
 * key does not inherit the old one's disabled flag or cooldowns. It cannot give the secret
 * back; the secret itself is never stored.
 */
final class StateIdentity {

	private static final byte[] DOMAIN = "keypool-gateway key state identity v1".getBytes(StandardCharsets.UTF_8);

	private static final int FINGERPRINT_BYTES = 6;

	private StateIdentity() {
	}

	static String of(String pool, PoolKey key) {
		MessageDigest sha256 = sha256();
		sha256.update(DOMAIN);
		for (String part : new String[] { pool, key.id(), key.secret() }) {
			byte[] bytes = part.getBytes(StandardCharsets.UTF_8);
			// length-prefixed, so no two (pool, id, secret) triples feed the same bytes
			sha256.update(new byte[] { (byte) (bytes.length >>> 24), (byte) (bytes.length >>> 16),
					(byte) (bytes.length >>> 8), (byte) bytes.length });
			sha256.update(bytes);
		}
		byte[] digest = sha256.digest();
		return key.id() + "#" + HexFormat.of().formatHex(digest, 0, FINGERPRINT_BYTES);
	}

	private static MessageDigest sha256() {
		try {
			return MessageDigest.getInstance("SHA-256");
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException("SHA-256 is required of every JVM", ex);
		}
	}

}
