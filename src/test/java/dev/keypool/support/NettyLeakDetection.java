package dev.keypool.support;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fails the test after which Netty reports a leaked buffer. Netty reports a leak when it
 * next tracks an allocation after the leaked buffer was collected, so after each test this
 * collects garbage and allocates a few tracked buffers to flush the reports out.
 */
public final class NettyLeakDetection implements BeforeEachCallback, AfterEachCallback {

	private static final List<String> reports = new CopyOnWriteArrayList<>();

	private static final String APPENDER_NAME = "netty-leak-detection";

	/** Installs before each test because Spring Boot resets Logback when a context starts. */
	@Override
	public void beforeEach(ExtensionContext context) {
		install();
	}

	private static synchronized void install() {
		Logger logger = (Logger) LoggerFactory.getLogger(ResourceLeakDetector.class);
		if (logger.getAppender(APPENDER_NAME) != null) {
			return;
		}
		assertThat(ResourceLeakDetector.getLevel()).as("tests run with -Dio.netty.leakDetection.level=paranoid")
			.isEqualTo(ResourceLeakDetector.Level.PARANOID);
		AppenderBase<ILoggingEvent> appender = new AppenderBase<>() {
			@Override
			protected void append(ILoggingEvent event) {
				if (event.getFormattedMessage().contains("LEAK")) {
					reports.add(event.getFormattedMessage());
				}
			}
		};
		appender.setName(APPENDER_NAME);
		appender.start();
		logger.addAppender(appender);
	}

	@Override
	public void afterEach(ExtensionContext context) {
		flushLeakReports();
		List<String> found = List.copyOf(reports);
		reports.clear();
		assertThat(found).as("Netty buffer leaks reported during or before " + context.getDisplayName()).isEmpty();
	}

	public static void flushLeakReports() {
		// One collection finds buffers that became unreachable during the test; the tracked
		// allocations after it make the detector report them now rather than in a later test.
		System.gc();
		for (int j = 0; j < 16; j++) {
			ByteBuf pooled = PooledByteBufAllocator.DEFAULT.directBuffer(16);
			pooled.release();
			ByteBuf unpooled = UnpooledByteBufAllocator.DEFAULT.heapBuffer(16);
			unpooled.release();
		}
	}

}
