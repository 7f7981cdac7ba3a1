package dev.keypool.support;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import reactor.blockhound.BlockingOperationError;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/**
 * BlockHound is installed for every test run (blockhound-junit-platform): a blocking call
 * on a non-blocking thread, such as an event loop, fails instead of passing silently.
 */
class BlockHoundTests {

	@Test
	void blockingOnANonBlockingThreadIsReported() {
		Mono<Void> blocking = Mono.<Void>fromRunnable(() -> {
			try {
				Thread.sleep(1);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}).subscribeOn(Schedulers.parallel());

		StepVerifier.create(blocking).expectError(BlockingOperationError.class).verify(Duration.ofSeconds(5));
		BlockingCallDetection.forgetProvokedCalls();
	}

}
