package dev.keypool.provider;

/**
 * The credentials of one configured key, as given; which fields a provider uses is up to its
 * dialect. Never printed.
 *
 * @param id the key's id
 * @param secret an API key (Anthropic; a Bedrock API key)
 * @param accessKeyId AWS access key id
 * @param secretAccessKey AWS secret access key
 * @param sessionToken AWS session token of temporary credentials
 * @param region the provider region the key is for (signature scope, Vertex location)
 * @param credentials a Google service-account JSON document
 * @param project a Google Cloud project id
 */
public record KeyCredentials(String id, String secret, String accessKeyId, String secretAccessKey,
		String sessionToken, String region, String credentials, String project) {

	/** An API key. */
	public static KeyCredentials ofSecret(String id, String secret) {
		return new KeyCredentials(id, secret, null, null, null, null, null, null);
	}

	static boolean isBlank(String value) {
		return value == null || value.isBlank();
	}

	/** Never prints a credential. */
	@Override
	public String toString() {
		return "KeyCredentials[id=" + this.id + "]";
	}

}
