package dev.keypool.tracing;

import java.util.Map;

/**
 * Span attribute names. The {@code gen_ai.*} ones are OpenTelemetry's GenAI semantic
 * conventions as of semantic-conventions v1.37.0 (still "development" status upstream; that
 * release renamed {@code gen_ai.system} to {@code gen_ai.provider.name}).
 */
public final class TracingAttributes {

	public static final String PROVIDER_NAME = "gen_ai.provider.name";

	public static final String REQUEST_MODEL = "gen_ai.request.model";

	public static final String USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens";

	public static final String USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens";

	public static final String POOL = "keypool.pool";

	public static final String KEY = "keypool.key";

	public static final String MODEL_CLASS = "keypool.model_class";

	public static final String OUTCOME = "keypool.outcome";

	/** 1-based number of an attempt, on the attempt span. */
	public static final String ATTEMPT = "keypool.attempt";

	/** How many upstream attempts the request took, on the request span. */
	public static final String ATTEMPTS = "keypool.attempts";

	/** The conventions' well-known provider names, for the providers whose name differs from ours. */
	private static final Map<String, String> GEN_AI_PROVIDER_NAMES = Map.of("bedrock", "aws.bedrock", "vertex",
			"gcp.vertex_ai");

	/** Longest model id reported; callers choose {@code model}, so it is bounded like any caller input. */
	static final int MAX_MODEL_LENGTH = 64;

	private TracingAttributes() {
	}

	/** {@code gen_ai.provider.name} for a configured provider ({@code anthropic} stays {@code anthropic}). */
	static String genAiProviderName(String provider) {
		return GEN_AI_PROVIDER_NAMES.getOrDefault(provider, provider);
	}

	/**
	 * The caller's model id if it looks like one (at most {@value #MAX_MODEL_LENGTH} letters,
	 * digits and {@code . _ - : @ /}); anything else, a prompt pasted into {@code model} for
	 * instance, is not reported. {@code null} then, and for no model.
	 */
	static String boundedModel(String model) {
		if (model == null || model.isEmpty() || model.length() > MAX_MODEL_LENGTH) {
			return null;
		}
		for (int i = 0; i < model.length(); i++) {
			char c = model.charAt(i);
			boolean allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
					|| c == '.' || c == '_' || c == '-' || c == ':' || c == '@' || c == '/';
			if (!allowed) {
				return null;
			}
		}
		return model;
	}

}
