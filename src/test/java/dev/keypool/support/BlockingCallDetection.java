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
		// Netty's own allocator takes a short StampedLock when it adds a magazine under
		// contention; it is built for event loops, and Netty's BlockHound integration does not
		// list this path yet (4.2.17). Any allocation on an event loop can reach it.
		builder.allowBlockingCallsInside("io.netty.buffer.AdaptivePoolingAllocator$MagazineGroup",
				"tryExpandMagazines");
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
