package dev.keypool.gateway;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The memory that request bodies held for replay may take together
 * ({@code keypool.max-buffered-bytes}). A pooled body is held whole until its request ends,
 * so without a shared bound a burst of large concurrent uploads exhausts direct memory for
 * every caller.
 */
public final class BufferBudget {

	private final long limit;

	private final AtomicLong used = new AtomicLong();

	public BufferBudget(long limit) {
		if (limit <= 0) {
			throw new IllegalArgumentException("the buffer budget must be positive");
		}
		this.limit = limit;
	}

	/** Takes {@code bytes} from the budget, or nothing and {@code false} when they do not fit. */
	boolean tryReserve(long bytes) {
		if (bytes <= 0) {
			return true;
		}
		long current;
		do {
			current = this.used.get();
			if (current + bytes > this.limit) {
				return false;
			}
		}
		while (!this.used.compareAndSet(current, current + bytes));
		return true;
	}

	void release(long bytes) {
		if (bytes > 0) {
			this.used.addAndGet(-bytes);
		}
	}

	/** Bytes held right now. */
	public long used() {
		return this.used.get();
	}

	public long limit() {
		return this.limit;
	}

}
