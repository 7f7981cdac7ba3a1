package dev.keypool.support;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import reactor.blockhound.BlockHound;
import reactor.blockhound.BlockingOperationError;
import reactor.blockhound.integration.BlockHoundIntegration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fails the test during which BlockHound saw a blocking call on a non-blocking thread.
 * BlockHound throws into the offending thread, but on an event loop that error is often
 * swallowed (a fail-open store logs it, a server answers 500): recording it here makes
 * every such call fail the build.
 */
public final class BlockingCallDetection implements BlockHoundIntegration, AfterEachCallback {

	private static final List<String> calls = new CopyOnWriteArrayList<>();

	@Override
	public void applyTo(BlockHound.Builder builder) {
		// Netty's adaptive allocator briefly write-locks a magazine when it grows its magazines
		// under contention (Lettuce allocates on channel registration); Netty's own BlockHound
		// integration does not list it yet. Short and bounded, not I/O.
		builder.allowBlockingCallsInside("io.netty.buffer.AdaptivePoolingAllocator$MagazineGroup", "tryExpandMagazines");
		builder.blockingMethodCallback((method) -> {
			calls.add(method + " on " + Thread.currentThread().getName());
			throw new BlockingOperationError(method);
		});
	}

	@Override
	public void afterEach(ExtensionContext context) {
		List<String> found = List.copyOf(calls);
		calls.clear();
		assertThat(found).as("blocking calls on non-blocking threads during " + context.getDisplayName()).isEmpty();
	}

	/** For the test that proves detection works: forget what it provoked on purpose. */
	static void forgetProvokedCalls() {
		calls.clear();
	}

}
