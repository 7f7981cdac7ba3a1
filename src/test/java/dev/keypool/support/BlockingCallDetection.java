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
		// Netty's adaptive allocator (its default since 4.2) adds magazines when threads contend
		// and then takes each old magazine's lock to free it: a short critical section like the
		// PoolArena lock that Netty's own integration allows, missing from it. BlockHound's error,
		// thrown from inside the allocator, failed whatever was allocating, e.g. Lettuce's read
		// buffer in CommandHandler.channelRegistered, leaving that connection half set up.
		builder.allowBlockingCallsInside("io.netty.buffer.AdaptivePoolingAllocator$MagazineGroup",
				"tryExpandMagazines");
		// The AWS SDK's async HTTP client (a test client of Bedrock pools) closes its Netty channel
		// pool when the client is closed, waiting on Netty's global executor. The gateway has no
		// such pool (Reactor Netty pools its own connections).
		builder.allowBlockingCallsInside("io.netty.channel.pool.SimpleChannelPool", "close");
		// SigV4 signing (the gateway's, on the event loop that sends the attempt, and the fake
		// Bedrock's) hashes with digests the AWS SDK keeps in a LinkedBlockingDeque. The SDK only
		// calls its non-waiting pollFirst (getDigest) and offerFirst (close; capacity 10 000, a full
		// pool drops the digest): the deque's lock guards an O(1) link/unlink and never waits on a
		// condition, so a contended lock parks only for another thread's few instructions, like
		// Netty's PoolArena lock. SigV4AuthorizerTests signs concurrently on parallel threads.
		builder.allowBlockingCallsInside("software.amazon.awssdk.checksums.internal.DigestAlgorithm", "getDigest");
		builder.allowBlockingCallsInside(
				"software.amazon.awssdk.checksums.internal.DigestAlgorithm$CloseableMessageDigest", "close");
		// Spring Boot's Prometheus exemplars look the Tracer up once, lazily, under a lock: on a
		// Redis Cluster the first commands complete on several Lettuce event loops at once (one
		// connection per node), which contend for that lock once; never again after.
		builder.allowBlockingCallsInside(
				"org.springframework.boot.micrometer.tracing.autoconfigure.prometheus.PrometheusExemplarsAutoConfiguration$LazyTracingSpanContext",
				"currentSpan");
		// Lettuce builds a JDK SSLContext for each TLS connection to Redis in the channel
		// initializer, on its event loop; SSLContext.init seeds its SecureRandom from
		// /dev/urandom, a file read that never waits for entropy.
		builder.allowBlockingCallsInside("sun.security.ssl.SSLContextImpl", "engineInit");
		// Each new Lettuce connection (a Sentinel connection too, opened again on its event
		// executor while a master is failed over) looks up its command translator in a WeakHashMap
		// guarded by one global lock: a map lookup, or once per interface a reflection pass over
		// its methods; no I/O and no waiting on a condition inside it.
		builder.allowBlockingCallsInside("io.lettuce.core.internal.AbstractInvocationHandler$MethodTranslator", "of");
		builder.blockingMethodCallback((method) -> {
			StringBuilder where = new StringBuilder(method + " on " + Thread.currentThread().getName());
			for (StackTraceElement frame : new Throwable().getStackTrace()) {
				where.append("\n\tat ").append(frame);
			}
			calls.add(where.toString());
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
