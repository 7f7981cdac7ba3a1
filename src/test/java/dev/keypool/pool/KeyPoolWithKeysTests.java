package dev.keypool.pool;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** A reload that changes only the keys of a pool keeps everything else of it. */
class KeyPoolWithKeysTests {

	private final Clock clock = Clock.systemUTC();

	private final PoolKey k0 = new PoolKey("k0", "sk-k0-secret");

	private final PoolKey k1 = new PoolKey("k1", "sk-k1-secret");

	private final KeyPool pool = new KeyPool("p", "anthropic", List.of(this.k0, this.k1), FailoverPolicy.DEFAULT,
			new InMemoryKeyStateStore(), this.clock, new Scheduling(Strategy.ordered(),
					new MapSessionAffinity(), "x-session", new RateLimitBook(),
					true, 1000, Duration.ZERO, 10));

	@Test
	void aSessionStaysOnItsKeyAcrossTheChange() {
		this.pool.rememberSession("s1", this.k1);

		KeyPool next = this.pool.withKeys(List.of(this.k0, new PoolKey("k1", "sk-k1-secret"),
				new PoolKey("k2", "sk-k2-secret")));

		assertThat(next.walker("sonnet", "s1").next()).extracting(PoolKey::id).isEqualTo("k1");
	}

	@Test
	void keyStateAndHeldRequestsCarryOver() {
		this.pool.disable(this.k0, 401);
		assertThat(this.pool.startWaiting()).isTrue();

		KeyPool next = this.pool.withKeys(List.of(new PoolKey("k0", "sk-k0-secret"), new PoolKey("k2", "sk-k2")));

		assertThat(next.status(next.keys().get(0))).isEqualTo(KeyStatus.DISABLED);
		assertThat(next.waiting()).isEqualTo(1);
		assertThat(next.keys()).extracting(PoolKey::id).containsExactly("k0", "k2");
	}

	/** Remembers every session, for tests. */
	private static final class MapSessionAffinity implements SessionAffinity {

		private final Map<String, String> keys = new ConcurrentHashMap<>();

		@Override
		public String keyOf(String session) {
			return this.keys.get(session);
		}

		@Override
		public void remember(String session, String keyId) {
			this.keys.put(session, keyId);
		}

		@Override
		public long size() {
			return this.keys.size();
		}

	}

}
