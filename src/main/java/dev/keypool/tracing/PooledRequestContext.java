package dev.keypool.tracing;

import io.micrometer.observation.Observation;

/**
 * What the span of one pooled request reports: the pool, the model asked for, the key that
 * answered, how many attempts it took and what the request came to.
 */
public class PooledRequestContext extends Observation.Context {

	private final String pool;

	private final String provider;

	private volatile String model;

	private volatile String modelClass;

	private volatile String keyId;

	private volatile String outcome;

	PooledRequestContext(String pool, String provider) {
		this.pool = pool;
		this.provider = provider;
	}

	public String getPool() {
		return this.pool;
	}

	/** The pool's provider as configured ({@code anthropic}). */
	public String getProvider() {
		return this.provider;
	}

	/** The model id the caller asked for, when it is a plausible id; else {@code null}. */
	public String getModel() {
		return this.model;
	}

	/** The pool's bounded model class of the request ({@code opus}, {@code *} for none). */
	public String getModelClass() {
		return this.modelClass;
	}

	/** The key whose response went to the caller, or {@code null}. */
	public String getKeyId() {
		return this.keyId;
	}

	/** What the request came to; see {@link RequestSpan}. */
	public String getOutcome() {
		return this.outcome;
	}

	void setModel(String model, String modelClass) {
		this.model = model;
		this.modelClass = modelClass;
	}

	void setKeyId(String keyId) {
		this.keyId = keyId;
	}

	void setOutcome(String outcome) {
		this.outcome = outcome;
	}

}
