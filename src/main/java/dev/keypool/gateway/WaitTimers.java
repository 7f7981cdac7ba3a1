package dev.keypool.gateway;

import java.util.concurrent.ScheduledThreadPoolExecutor;

import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * The timers of requests held for a key to come back ({@code max-wait}): one daemon thread
 * that only fires timers. A cancelled timer (the caller went away) is removed from the queue
 * at once, so held-and-cancelled requests leave nothing behind.
 */
public final class WaitTimers {

	private final ScheduledThreadPoolExecutor executor;

	private final Scheduler scheduler;

	public WaitTimers() {
		this.executor = new ScheduledThreadPoolExecutor(1, (task) -> {
			Thread thread = new Thread(task, "keypool-wait");
			thread.setDaemon(true);
			return thread;
		});
		this.executor.setRemoveOnCancelPolicy(true);
		this.scheduler = Schedulers.fromExecutorService(this.executor, "keypool-wait");
	}

	Scheduler scheduler() {
		return this.scheduler;
	}

	/** Timers set and neither fired nor cancelled yet. */
	public int pending() {
		return this.executor.getQueue().size();
	}

	public void dispose() {
		this.scheduler.dispose();
		this.executor.shutdownNow();
	}

}
