package dev.keypool.tracing;

import io.micrometer.observation.Observation;

/** What the span of one upstream attempt reports: which key, which attempt, what it came to. */
public class AttemptContext extends Observation.Context {

	private final PooledRequestContext request;

	private final String keyId;

	private final int attempt;

	private volatile String outcome;

	AttemptContext(PooledRequestContext request, String keyId, int attempt) {
		this.request = request;
		this.keyId = keyId;
		this.attempt = attempt;
	}

	/** The request this attempt belongs to (pool, provider, model). */
	public PooledRequestContext getRequest() {
		return this.request;
	}

	public String getKeyId() {
		return this.keyId;
	}

	/** 1-based, counted across the whole request (a held request's later walks continue the count). */
	public int getAttempt() {
		return this.attempt;
	}

	/** What the attempt came to; see {@link RequestSpan}. */
	public String getOutcome() {
		return this.outcome;
	}

	void setOutcome(String outcome) {
		this.outcome = outcome;
	}

}
