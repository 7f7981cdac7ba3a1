package dev.keypool.tracing;

import io.micrometer.common.KeyValues;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationConvention;

/**
 * Names and attributes of the {@code keypool.request} span. Low-cardinality values are
 * bounded by configuration (pool, provider, outcome, model class); the model id is
 * high-cardinality. Counts (attempts, tokens) are set as integer attributes by
 * {@link RequestSpan}, not here.
 */
public class PooledRequestConvention implements ObservationConvention<PooledRequestContext> {

	public static final PooledRequestConvention DEFAULT = new PooledRequestConvention();

	static final String NAME = "keypool.request";

	static final String OUTCOME_PENDING = "pending";

	@Override
	public String getName() {
		return NAME;
	}

	@Override
	public KeyValues getLowCardinalityKeyValues(PooledRequestContext context) {
		return KeyValues.of(TracingAttributes.PROVIDER_NAME,
				TracingAttributes.genAiProviderName(context.getProvider()), TracingAttributes.POOL, context.getPool(),
				TracingAttributes.OUTCOME, (context.getOutcome() != null) ? context.getOutcome() : OUTCOME_PENDING);
	}

	@Override
	public KeyValues getHighCardinalityKeyValues(PooledRequestContext context) {
		KeyValues values = KeyValues.empty();
		if (context.getModelClass() != null) {
			values = values.and(TracingAttributes.MODEL_CLASS, context.getModelClass());
		}
		if (context.getModel() != null) {
			values = values.and(TracingAttributes.REQUEST_MODEL, context.getModel());
		}
		if (context.getKeyId() != null) {
			values = values.and(TracingAttributes.KEY, context.getKeyId());
		}
		return values;
	}

	@Override
	public boolean supportsContext(Observation.Context context) {
		return context instanceof PooledRequestContext;
	}

}
