package dev.keypool.config;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.tracing.Tracer;
import io.micrometer.tracing.propagation.Propagator;

import dev.keypool.tracing.AttemptConvention;
import dev.keypool.tracing.PooledRequestConvention;
import dev.keypool.tracing.PooledRequestTracing;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Tracing of pooled requests, on only with {@code management.tracing.export.enabled=true}
 * (application.yaml sets {@code false}; Spring Boot's own default is {@code true}).
 * <p>
 * Spring Boot creates an OpenTelemetry tracer whenever the bridge is on the classpath, even with
 * export off, and samples a tenth of all requests into spans that go nowhere. Off, this
 * configuration puts Micrometer's no-op tracer and propagator in its place, so turning tracing off
 * costs nothing per request and sends no {@code traceparent} upstream.
 */
@Configuration(proxyBeanMethods = false)
public class TracingConfiguration {

	/** Spans of pooled requests whenever a real tracer is there. */
	@Bean
	PooledRequestTracing pooledRequestTracing(ObjectProvider<Tracer> tracer, ObjectProvider<ObservationRegistry> registry) {
		Tracer current = tracer.getIfAvailable();
		ObservationRegistry observations = registry.getIfAvailable();
		if (current == null || current == Tracer.NOOP || observations == null) {
			return PooledRequestTracing.OFF;
		}
		return new PooledRequestTracing(observations);
	}

	/**
	 * The request and attempt observations exist for their spans: the attempt counters and
	 * state gauges already cover them as metrics, and tracing must not add Prometheus series.
	 * Micrometer names an observation's timer after it and its long task timer {@code <name>.active};
	 * exact names, so {@code keypool.request.attempts} and the like stay.
	 */
	@Bean
	MeterFilter keypoolSpansAreNotMeters() {
		Set<String> names = new HashSet<>();
		for (String observation : List.of(PooledRequestConvention.DEFAULT.getName(),
				AttemptConvention.DEFAULT.getName())) {
			names.add(observation);
			names.add(observation + ".active");
		}
		return MeterFilter.deny((id) -> names.contains(id.getName()));
	}

	/** Tracing off: no spans, no propagation, instead of Spring Boot's unexported ones. */
	@Configuration(proxyBeanMethods = false)
	@ConditionalOnBooleanProperty(name = "management.tracing.export.enabled", havingValue = false)
	static class TracingOff {

		@Bean
		Tracer keypoolTracingOff() {
			return Tracer.NOOP;
		}

		@Bean
		Propagator keypoolPropagationOff() {
			return Propagator.NOOP;
		}

	}

}
