package dev.keypool.tracing;

import io.micrometer.common.KeyValues;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationConvention;

/**
 * Names and attributes of the {@code keypool.attempt} span: one upstream attempt with one
 * key. Its number is set as an integer attribute by {@link RequestSpan}, not here.
 */
public class AttemptConvention implements ObservationConvention<AttemptContext> {

	public static final AttemptConvention DEFAULT = new AttemptConvention();

	static final String NAME = "keypool.attempt";

	@Override
	public String getName() {
		return NAME;
	}

	@Override
	public KeyValues getLowCardinalityKeyValues(AttemptContext context) {
		PooledRequestContext request = context.getRequest();
		return KeyValues.of(TracingAttributes.PROVIDER_NAME,
				TracingAttributes.genAiProviderName(request.getProvider()), TracingAttributes.POOL, request.getPool(),
				TracingAttributes.KEY, context.getKeyId(), TracingAttributes.OUTCOME,
				(context.getOutcome() != null) ? context.getOutcome() : PooledRequestConvention.OUTCOME_PENDING);
	}

	@Override
	public KeyValues getHighCardinalityKeyValues(AttemptContext context) {
		PooledRequestContext request = context.getRequest();
		KeyValues values = KeyValues.empty();
		if (request.getModelClass() != null) {
			values = values.and(TracingAttributes.MODEL_CLASS, request.getModelClass());
		}
		if (request.getModel() != null) {
			values = values.and(TracingAttributes.REQUEST_MODEL, request.getModel());
		}
		return values;
	}

	@Override
	public boolean supportsContext(Observation.Context context) {
		return context instanceof AttemptContext;
	}

}
