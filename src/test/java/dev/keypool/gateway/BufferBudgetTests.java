package dev.keypool.gateway;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class BufferBudgetTests {

	@Test
	void reservationsThatWouldPassTheLimitAreRefusedWhole() {
		BufferBudget budget = new BufferBudget(100);

		assertThat(budget.tryReserve(60)).isTrue();
		assertThat(budget.tryReserve(41)).isFalse();
		assertThat(budget.used()).isEqualTo(60);
		assertThat(budget.tryReserve(40)).isTrue();
		budget.release(60);
		budget.release(40);
		assertThat(budget.used()).isZero();
	}

	@Test
	void concurrentReservationsNeverExceedTheLimit() throws Exception {
		BufferBudget budget = new BufferBudget(1_000);
		AtomicInteger granted = new AtomicInteger();
		CountDownLatch go = new CountDownLatch(1);
		ExecutorService threads = Executors.newFixedThreadPool(4);
		for (int t = 0; t < 4; t++) {
			threads.submit(() -> {
				go.await();
				for (int i = 0; i < 1_000; i++) {
					if (budget.tryReserve(7)) {
						granted.incrementAndGet();
					}
				}
				return null;
			});
		}
		go.countDown();
		threads.shutdown();
		assertThat(threads.awaitTermination(10, TimeUnit.SECONDS)).isTrue();

		assertThat(granted.get()).isEqualTo(1_000 / 7);
		assertThat(budget.used()).isEqualTo(granted.get() * 7L);
	}

}
