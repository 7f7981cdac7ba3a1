package dev.keypool.pool;

/**
 * The resources Anthropic reports limits for, each in
 * {@code anthropic-ratelimit-<name>-limit}, {@code -remaining} and {@code -reset}.
 */
public enum RateLimitResource {

	REQUESTS("requests"), TOKENS("tokens"), INPUT_TOKENS("input-tokens"), OUTPUT_TOKENS("output-tokens");

	private final String headerPrefix;

	private final String wireName;

	private final String limitHeader;

	private final String remainingHeader;

	private final String resetHeader;

	RateLimitResource(String headerName) {
		this.headerPrefix = "anthropic-ratelimit-" + headerName;
		this.wireName = headerName.replace('-', '_');
		this.limitHeader = this.headerPrefix + "-limit";
		this.remainingHeader = this.headerPrefix + "-remaining";
		this.resetHeader = this.headerPrefix + "-reset";
	}

	/** The name in JSON and in the {@code resource} tag ({@code input_tokens}). */
	public String wireName() {
		return this.wireName;
	}

	public String limitHeader() {
		return this.limitHeader;
	}

	public String remainingHeader() {
		return this.remainingHeader;
	}

	public String resetHeader() {
		return this.resetHeader;
	}

	/** Whether the resource counts tokens (judged against {@code min-remaining-tokens}). */
	public boolean isTokens() {
		return this != REQUESTS;
	}

}
