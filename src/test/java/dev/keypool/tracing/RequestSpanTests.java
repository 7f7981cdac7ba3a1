package dev.keypool.tracing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.micrometer.common.KeyValue;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.SignalType;

import dev.keypool.pool.AttemptOutcome;

import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;
import org.springframework.web.server.ServerWebExchange;

import static org.assertj.core.api.Assertions.assertThat;

/** The request span's life cycle, without a tracer: what each observation ends with. */
class RequestSpanTests {

	final List<Observation.Context> stopped = new CopyOnWriteArrayList<>();

	final ObservationRegistry registry = ObservationRegistry.create();

	final ServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.post("/v1/messages"));

	RequestSpanTests() {
		this.registry.observationConfig().observationHandler(new ObservationHandler<>() {

			@Override
			public void onStop(Observation.Context context) {
				RequestSpanTests.this.stopped.add(context);
			}

			@Override
			public boolean supportsContext(Observation.Context context) {
				return true;
			}

		});
	}

	@Test
	void withoutARequestSpanEveryCallIsANoOp() {
		RequestSpan none = RequestSpan.of(this.exchange);

		none.model("claude-opus-4-7", "opus");
		none.attemptStarted("k0", 1);
		none.attemptRelayed(AttemptOutcome.SUCCESS);
		none.usage(1, 2);
		none.end(SignalType.ON_COMPLETE, null);

		assertThat(none.isRecording()).isFalse();
		assertThat(this.exchange.getAttributes()).doesNotContainKey(RequestSpan.EXCHANGE_ATTRIBUTE);
	}

	@Test
	void aFailedOverAttemptEndsWhenClassifiedAndTheRelayedOneWithTheRequest() {
		RequestSpan span = RequestSpan.start(this.registry, this.exchange, "p", "anthropic");
		span.attemptStarted("k0", 1);
		span.attemptEnded(AttemptOutcome.RATE_LIMITED);
		assertThat(this.stopped).hasSize(1);
		span.attemptStarted("k1", 2);
		span.attemptRelayed(AttemptOutcome.SUCCESS);
		assertThat(this.stopped).hasSize(1);

		span.end(SignalType.ON_COMPLETE, null);

		assertThat(this.stopped).hasSize(3);
		assertThat(value(this.stopped.get(1), "keypool.outcome")).isEqualTo("success");
		assertThat(value(this.stopped.get(2), "keypool.outcome")).isEqualTo("success");
		assertThat(value(this.stopped.get(2), "keypool.key")).isEqualTo("k1");
		assertThat(value(this.stopped.get(2), "keypool.attempts")).isEqualTo("2");
		assertThat(RequestSpan.of(this.exchange).isRecording()).isFalse();
	}

	@Test
	void usageReportedAfterTheRequestEndedIsIgnored() {
		RequestSpan span = RequestSpan.start(this.registry, this.exchange, "p", "anthropic");
		span.end(SignalType.ON_COMPLETE, null);

		span.usage(5, 6);
		span.end(SignalType.ON_COMPLETE, null);

		assertThat(this.stopped).hasSize(1);
		assertThat(value(this.stopped.get(0), "gen_ai.usage.input_tokens")).isNull();
	}

	@Test
	void aRequestThatNeverReachedAnAttemptWasRejected() {
		RequestSpan span = RequestSpan.start(this.registry, this.exchange, "p", "anthropic");

		span.end(SignalType.ON_COMPLETE, null);

		assertThat(value(this.stopped.get(0), "keypool.outcome")).isEqualTo("rejected");
	}

	@Test
	void aNetworkFailureIsTheAttemptsAndTheRequestsOutcome() {
		RequestSpan span = RequestSpan.start(this.registry, this.exchange, "p", "anthropic");
		span.attemptStarted("k0", 1);

		span.attemptFailed(new IllegalStateException("connection reset"));
		span.end(SignalType.ON_COMPLETE, null);

		assertThat(this.stopped).extracting((context) -> value(context, "keypool.outcome"))
			.containsExactly("network_error", "network_error");
		assertThat(this.stopped.get(0).getError()).hasMessage("connection reset");
	}

	private static String value(Observation.Context context, String key) {
		KeyValue value = context.getLowCardinalityKeyValue(key);
		if (value == null) {
			value = context.getHighCardinalityKeyValue(key);
		}
		return (value != null) ? value.getValue() : null;
	}

}
