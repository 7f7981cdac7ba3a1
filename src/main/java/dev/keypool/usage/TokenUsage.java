package dev.keypool.usage;

/**
 * Tokens of one response, as the provider reported them in its {@code usage}.
 *
 * @param input {@code input_tokens}: uncached input
 * @param output {@code output_tokens}
 * @param cacheRead {@code cache_read_input_tokens}: input served from the prompt cache
 * @param cacheCreation {@code cache_creation_input_tokens}: input written to the prompt cache
 */
public record TokenUsage(long input, long output, long cacheRead, long cacheCreation) {

	/** No usage reported. */
	public static final TokenUsage NONE = new TokenUsage(0, 0, 0, 0);

	/** What a client budget is charged: input, output and cache writes (cache reads are not). */
	public long charged() {
		return this.input + this.output + this.cacheCreation;
	}

	/** Every token, cache reads included. */
	public long total() {
		return this.input + this.output + this.cacheRead + this.cacheCreation;
	}

}
