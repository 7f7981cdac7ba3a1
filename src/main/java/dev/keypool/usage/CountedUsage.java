package dev.keypool.usage;

/**
 * The tokens counted for one finished exchange, with the labels they were counted under.
 * <p>
 * Other components read it from the exchange attribute {@link #ATTRIBUTE} once the response
 * ended (a tracing span can carry {@code gen_ai.usage.input_tokens} from it, an access log its
 * totals). The attribute is absent when the response carried no usage (an error, a model list,
 * a compressed body in an encoding other than gzip) or was not relayed.
 *
 * @param pool the pool name
 * @param key the key id that produced the response, {@code byok} for a caller's own key
 * @param client the client id, {@code anonymous} or {@code byok}
 * @param modelClass the model class ({@code opus}, {@code other}, {@code *} for none)
 * @param tokens the counts, as the provider reported them
 * @param charged what the client's budget is charged: {@link TokenUsage#charged()}, or more for
 * a stream that ended before its final usage (see {@link UsageAccounting})
 */
public record CountedUsage(String pool, String key, String client, String modelClass, TokenUsage tokens,
		long charged) {

	/** Counts charged as reported. */
	public CountedUsage(String pool, String key, String client, String modelClass, TokenUsage tokens) {
		this(pool, key, client, modelClass, tokens, tokens.charged());
	}

	/** Exchange attribute holding the {@link CountedUsage} of a finished response. */
	public static final String ATTRIBUTE = CountedUsage.class.getName();

}
