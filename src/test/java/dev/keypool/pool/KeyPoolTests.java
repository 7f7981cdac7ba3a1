package dev.keypool.pool;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.keypool.support.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.tuple;

class KeyPoolTests {

	private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));

	private final List<KeyStateChange> changes = new ArrayList<>();

	private final KeyPool pool = pool("k0", "k1", "k2");

	private KeyPool pool(String... ids) {
		List<PoolKey> keys = new ArrayList<>();
		for (String id : ids) {
			keys.add(new PoolKey(id, "sk-secret-" + id + "-0123456789"));
		}
		KeyPool created = new KeyPool("p", "anthropic", keys, FailoverPolicy.DEFAULT, new InMemoryKeyStateStore(),
				this.clock);
		created.addListener(new KeyPoolListener() {
			@Override
			public void onStateChange(KeyStateChange change) {
				KeyPoolTests.this.changes.add(change);
			}
		});
		return created;
	}

	private PoolKey key(int index) {
		return this.pool.keys().get(index);
	}

	@Test
	void walkerStartsAtTheFirstKeyAndNeverRevisits() {
		KeyWalker walker = this.pool.walker();

		assertThat(walker.next()).isEqualTo(key(0));
		assertThat(walker.next()).isEqualTo(key(1));
		assertThat(walker.next()).isEqualTo(key(2));
		assertThat(walker.next()).isNull();
		assertThat(walker.attempts()).isEqualTo(3);
	}

	@Test
	void rateLimitedKeyIsSkippedUntilItsCooldownEnds() {
		this.pool.coolDown(key(0), Duration.ofSeconds(30), 429);

		assertThat(this.pool.walker().next()).isEqualTo(key(1));
		this.clock.advance(Duration.ofSeconds(29));
		assertThat(this.pool.walker().next()).isEqualTo(key(1));
		this.clock.advance(Duration.ofSeconds(1));
		assertThat(this.pool.walker().next()).isEqualTo(key(0));
		assertThat(this.pool.status(key(0))).isEqualTo(KeyStatus.AVAILABLE);
	}

	@Test
	void disabledKeyStaysDisabledUntilReset() {
		this.pool.disable(key(0), 401);
		this.clock.advance(Duration.ofDays(365));

		assertThat(this.pool.status(key(0))).isEqualTo(KeyStatus.DISABLED);
		this.pool.reset(key(0));
		assertThat(this.pool.status(key(0))).isEqualTo(KeyStatus.AVAILABLE);
		assertThat(this.pool.state(key(0)).lastStatus()).as("history stays visible after a reset").isEqualTo(401);
	}

	@Test
	void markingACoolingKeyKeepsTheLaterDeadline() {
		this.pool.coolDown(key(0), Duration.ofSeconds(30), 429);
		this.pool.coolDown(key(0), Duration.ofSeconds(5), 429);

		assertThat(this.pool.state(key(0)).cooldownUntil()).isEqualTo(this.clock.instant().plusSeconds(30));

		this.pool.coolDown(key(0), Duration.ofSeconds(60), 429);
		assertThat(this.pool.state(key(0)).cooldownUntil()).isEqualTo(this.clock.instant().plusSeconds(60));
	}

	@Test
	void aDisabledKeyStaysDisabledWhenRateLimited() {
		this.pool.disable(key(0), 403);
		this.pool.coolDown(key(0), Duration.ofSeconds(5), 429);

		assertThat(this.pool.status(key(0))).isEqualTo(KeyStatus.DISABLED);
	}

	@Test
	void exhaustionIsTransientWithTheSoonestRecovery() {
		this.pool.coolDown(key(0), Duration.ofSeconds(5), 429);
		this.pool.coolDown(key(1), Duration.ofSeconds(3), 429);
		this.pool.coolDown(key(2), Duration.ofSeconds(10), 429);

		assertThat(this.pool.exhaustion()).isEqualTo(new Exhaustion.Transient(Duration.ofSeconds(3)));
		assertThat(((Exhaustion.Transient) this.pool.exhaustion()).retryAfterSeconds()).isEqualTo(3);
	}

	@Test
	void mixedDisabledAndCoolingIsTransient() {
		this.pool.disable(key(0), 401);
		this.pool.coolDown(key(1), Duration.ofMillis(2500), 429);
		this.pool.disable(key(2), 403);

		assertThat(this.pool.exhaustion()).isInstanceOf(Exhaustion.Transient.class);
		assertThat(((Exhaustion.Transient) this.pool.exhaustion()).retryAfterSeconds()).as("rounded up").isEqualTo(3);
	}

	@Test
	void everyKeyDisabledIsPermanent() {
		this.pool.keys().forEach((key) -> this.pool.disable(key, 401));

		assertThat(this.pool.exhaustion()).isInstanceOf(Exhaustion.Permanent.class);
		assertThat(this.pool.hasAvailableKey()).isFalse();
	}

	@Test
	void aKeyThatBecameAvailableDuringTheWalkMeansRetryNow() {
		this.pool.coolDown(key(0), Duration.ofSeconds(1), 429);
		this.pool.disable(key(1), 401);
		this.pool.disable(key(2), 401);
		this.clock.advance(Duration.ofSeconds(2));

		assertThat(this.pool.exhaustion()).isEqualTo(new Exhaustion.Transient(Duration.ZERO));
		assertThat(((Exhaustion.Transient) this.pool.exhaustion()).retryAfterSeconds()).isZero();
	}

	@Test
	void stateChangesArePublishedOncePerTransition() {
		this.pool.coolDown(key(0), Duration.ofSeconds(30), 429);
		this.pool.coolDown(key(0), Duration.ofSeconds(10), 429);
		this.pool.disable(key(0), 401);
		this.pool.disable(key(0), 401);
		this.pool.reset(key(0));

		assertThat(this.changes).extracting(KeyStateChange::from, KeyStateChange::to, KeyStateChange::reason)
			.containsExactly(tuple(KeyStatus.AVAILABLE, KeyStatus.COOLING_DOWN, "429"),
					tuple(KeyStatus.COOLING_DOWN, KeyStatus.DISABLED, "401"),
					tuple(KeyStatus.DISABLED, KeyStatus.AVAILABLE, "reset"));
		assertThat(this.changes.get(0).until()).isEqualTo(this.clock.instant().plusSeconds(30));
	}

	@Test
	void concurrentMarksKeepTheLatestDeadline() throws Exception {
		ExecutorService executor = Executors.newFixedThreadPool(8);
		CountDownLatch start = new CountDownLatch(1);
		for (int i = 1; i <= 400; i++) {
			int seconds = i;
			executor.submit(() -> {
				start.await();
				this.pool.coolDown(key(0), Duration.ofSeconds(seconds), 429);
				return null;
			});
		}
		start.countDown();
		executor.shutdown();
		assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();

		assertThat(this.pool.state(key(0)).cooldownUntil()).isEqualTo(this.clock.instant().plusSeconds(400));
	}

	@Test
	void duplicateKeyIdsAreRejected() {
		assertThatIllegalArgumentException().isThrownBy(() -> pool("a", "a")).withMessageContaining("'a'");
	}

	@Test
	void aPoolNeedsKeys() {
		assertThatIllegalArgumentException().isThrownBy(this::pool);
	}

}
