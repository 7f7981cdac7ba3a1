package dev.keypool.gateway;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DefaultDataBufferFactory;

/**
 * {@code keypool.request-body-timeout} is total time, in virtual time: a body that never goes
 * idle is still cut at the deadline, and one that completes before it passes untouched.
 */
class RequestBodyTimeoutTests {

	@Test
	void aBodyTrickledWithoutEverGoingIdleIsCutAtTheDeadline() {
		// a byte every second from 0.5 s on: never idle for more than a second
		StepVerifier
			.withVirtualTime(() -> KeyFailoverGatewayFilterFactory.within(
					Flux.interval(Duration.ofMillis(500), Duration.ofSeconds(1)).map((i) -> oneByte()),
					Duration.ofSeconds(30)))
			.expectSubscription()
			.thenAwait(Duration.ofMillis(29_600))
			.expectNextCount(30)
			.thenAwait(Duration.ofMillis(500))
			.expectError(CachedBody.RequestBodyTimeout.class)
			.verify(Duration.ofSeconds(5));
	}

	@Test
	void aBodyCompleteBeforeTheDeadlinePasses() {
		StepVerifier
			.withVirtualTime(() -> KeyFailoverGatewayFilterFactory
				.within(Flux.just(oneByte(), oneByte()).delayElements(Duration.ofSeconds(14)), Duration.ofSeconds(30)))
			.expectSubscription()
			.thenAwait(Duration.ofSeconds(28))
			.expectNextCount(2)
			.expectComplete()
			.verify(Duration.ofSeconds(5));
	}

	private static DataBuffer oneByte() {
		return DefaultDataBufferFactory.sharedInstance.wrap(new byte[] { 'x' });
	}

}
