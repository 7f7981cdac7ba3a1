package dev.keypool.pool;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.keypool.support.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The scheduling rules of the pool, driven by a clock the tests move by hand:
 * cooldown scopes, groups, proactive marks, strategies and sticky sessions.
 */
class SchedulingTests {

	private static final Instant START = Instant.parse("2026-01-01T00:00:00Z");

	private final MutableClock clock = new MutableClock(START);

	private final List<KeyStateChange> changes = new ArrayList<>();

	private final List<String> proactive = new ArrayList<>();

	private final RateLimitBook rateLimits = new RateLimitBook();

	private final MapSessions sessions = new MapSessions();

	private KeyPool pool(Strategy strategy, String... idsAndGroups) {
		List<PoolKey> keys = new ArrayList<>();
		for (int i = 0; i < idsAndGroups.length; i += 2) {
			keys.add(new PoolKey(idsAndGroups[i], "sk-secret-" + idsAndGroups[i] + "-0123456789",
					idsAndGroups[i + 1].isEmpty() ? null : idsAndGroups[i + 1]));
		}
		Scheduling scheduling = new Scheduling(strategy, this.sessions, Scheduling.DEFAULT_SESSION_HEADER,
				this.rateLimits, true, 1000, Duration.ZERO, 10);
		KeyPool pool = new KeyPool("p", "anthropic", keys, FailoverPolicy.DEFAULT, new InMemoryKeyStateStore(),
				this.clock, scheduling);
		pool.addListener(new KeyPoolListener() {
			@Override
			public void onStateChange(KeyStateChange change) {
				SchedulingTests.this.changes.add(change);
			}

			@Override
			public void onProactiveCooldown(String pool, String keyId) {
				SchedulingTests.this.proactive.add(keyId);
			}
		});
		return pool;
	}

	private KeyPool pool(String... ids) {
		String[] idsAndGroups = new String[ids.length * 2];
		for (int i = 0; i < ids.length; i++) {
			idsAndGroups[2 * i] = ids[i];
			idsAndGroups[2 * i + 1] = "";
		}
		return pool(Strategy.ordered(), idsAndGroups);
	}

	private static List<String> walk(KeyPool pool, String modelClass, String session) {
		KeyWalker walker = pool.walker(modelClass, session);
		List<String> ids = new ArrayList<>();
		for (PoolKey key = walker.next(); key != null; key = walker.next()) {
			ids.add(key.id());
		}
		return ids;
	}

	private static PoolKey key(KeyPool pool, String id) {
		return pool.key(id).orElseThrow();
	}

	@Test
	void aRateLimitForOneClassLeavesTheKeyToTheOthers() {
		KeyPool pool = pool("k0", "k1");

		pool.coolDown(key(pool, "k0"), "opus", Duration.ofSeconds(30), 429);

		assertThat(walk(pool, "opus", null)).containsExactly("k1");
		assertThat(walk(pool, "haiku", null)).containsExactly("k0", "k1");
		assertThat(walk(pool, ModelClasses.KEY_WIDE, null)).as("no model: only key-wide cooldowns hold it back")
			.containsExactly("k0", "k1");
		assertThat(pool.status(key(pool, "k0"))).isEqualTo(KeyStatus.COOLING_DOWN);
	}

	@Test
	void aKeyWideCooldownCoversEveryClass() {
		KeyPool pool = pool("k0", "k1");

		pool.coolDown(key(pool, "k0"), Duration.ofSeconds(30), 429);

		assertThat(walk(pool, "opus", null)).containsExactly("k1");
		assertThat(walk(pool, "haiku", null)).containsExactly("k1");
		assertThat(walk(pool, ModelClasses.KEY_WIDE, null)).containsExactly("k1");
	}

	@Test
	void exhaustionIsJudgedForTheRequestsClass() {
		KeyPool pool = pool("k0", "k1");
		pool.coolDown(key(pool, "k0"), "opus", Duration.ofSeconds(30), 429);
		pool.coolDown(key(pool, "k1"), "opus", Duration.ofSeconds(20), 429);
		pool.coolDown(key(pool, "k1"), Duration.ofSeconds(5), 429);

		assertThat(pool.exhaustion("opus")).isEqualTo(new Exhaustion.Transient(Duration.ofSeconds(20)));
		assertThat(pool.exhaustion("haiku")).as("k0 serves haiku now").isEqualTo(new Exhaustion.Transient(Duration.ZERO));
		assertThat(pool.hasAvailableKey()).as("health: k0 has no key-wide cooldown").isTrue();
	}

	@Test
	void scopedMarksKeepTheLaterDeadline() {
		KeyPool pool = pool("k0");
		PoolKey k0 = key(pool, "k0");

		pool.coolDown(k0, "opus", Duration.ofSeconds(30), 429);
		pool.coolDown(k0, "opus", Duration.ofSeconds(5), 429);

		assertThat(pool.latestCooldown(k0, START).until()).isEqualTo(START.plusSeconds(30));
	}

	@ParameterizedTest(name = "{0}s later: {1}, latest cooldown {2}")
	@CsvSource({ "0, cooling_down, haiku", "15, cooling_down, haiku", "25, cooling_down, haiku", "30, available, ''" })
	void theKeysStatusAndLatestCooldownSpanEveryScope(long later, String status, String latestClass) {
		KeyPool pool = pool("k0");
		PoolKey k0 = key(pool, "k0");
		pool.coolDown(k0, "sonnet", Duration.ofSeconds(10), 429);
		pool.coolDown(k0, Duration.ofSeconds(20), 429);
		pool.coolDown(k0, "haiku", Duration.ofSeconds(30), 429);
		this.clock.advance(Duration.ofSeconds(later));

		assertThat(pool.status(k0).wireName()).isEqualTo(status);
		KeyPool.Cooldown latest = pool.latestCooldown(k0, this.clock.instant());
		assertThat((latest != null) ? latest.modelClass() : "").isEqualTo(latestClass);
	}

	@Test
	void aGroupCoolsTogetherForThatClassWithinOneWalk() {
		KeyPool pool = pool(Strategy.ordered(), "a1", "org-a", "a2", "org-a", "b1", "org-b");
		KeyWalker walker = pool.walker("opus", null);

		assertThat(walker.next().id()).isEqualTo("a1");
		pool.coolDown(key(pool, "a1"), "opus", Duration.ofSeconds(30), 429);

		assertThat(walker.next().id()).as("a2 shares a1's limit: skipped in the same walk").isEqualTo("b1");
		assertThat(walk(pool, "haiku", null)).containsExactly("a1", "a2", "b1");
		assertThat(this.changes).extracting(KeyStateChange::keyId, KeyStateChange::modelClass)
			.containsExactly(org.assertj.core.groups.Tuple.tuple("a1", "opus"),
					org.assertj.core.groups.Tuple.tuple("a2", "opus"));
	}

	@Test
	void disablesDoNotSpreadToTheGroup() {
		KeyPool pool = pool(Strategy.ordered(), "a1", "org-a", "a2", "org-a");

		pool.disable(key(pool, "a1"), 401);

		assertThat(walk(pool, "opus", null)).containsExactly("a2");
	}

	@Test
	void requestsRemainingZeroCoolsTheClassUntilExactlyTheReset() {
		KeyPool pool = pool("k0", "k1");
		PoolKey k0 = key(pool, "k0");
		Instant reset = START.plusSeconds(42);

		boolean marked = pool.observe(k0, "opus",
				headers("requests", "50", "0", reset.toString()));

		assertThat(marked).isTrue();
		assertThat(this.proactive).containsExactly("k0");
		assertThat(walk(pool, "opus", null)).containsExactly("k1");
		assertThat(pool.cooldowns(k0, START)).singleElement()
			.satisfies((cooldown) -> assertThat(cooldown.reason()).isEqualTo(CooldownReason.PROACTIVE));
		this.clock.set(reset.minusMillis(1));
		assertThat(walk(pool, "opus", null)).containsExactly("k1");
		this.clock.set(reset);
		assertThat(walk(pool, "opus", null)).containsExactly("k0", "k1");
	}

	@ParameterizedTest
	@CsvSource({ "input-tokens, 999, true", "input-tokens, 1000, false", "output-tokens, 10, true",
			"tokens, 0, true", "requests, 1, false" })
	void resourcesBelowTheirThresholdMarkProactively(String resource, String remaining, boolean expected) {
		KeyPool pool = pool("k0");

		boolean marked = pool.observe(key(pool, "k0"), "sonnet",
				headers(resource, "100000", remaining, START.plusSeconds(10).toString()));

		assertThat(marked).isEqualTo(expected);
	}

	@Test
	void aProactiveMarkIsNeverShorterThanTheMinimumNorLongerThanTheMaximum() {
		KeyPool pool = pool("k0", "k1");

		pool.observe(key(pool, "k0"), "opus", headers("requests", "50", "0", START.plusMillis(10).toString()));
		pool.observe(key(pool, "k1"), "opus", headers("requests", "50", "0", START.plusSeconds(3600).toString()));

		assertThat(pool.latestCooldown(key(pool, "k0"), START).until()).isEqualTo(START.plusSeconds(1));
		assertThat(pool.latestCooldown(key(pool, "k1"), START).until()).isEqualTo(START.plus(Duration.ofMinutes(15)));
	}

	@Test
	void aProactiveMarkSpreadsToTheGroup() {
		KeyPool pool = pool(Strategy.ordered(), "a1", "org-a", "a2", "org-a", "b1", "");

		pool.observe(key(pool, "a1"), "opus", headers("requests", "50", "0", START.plusSeconds(9).toString()));

		assertThat(walk(pool, "opus", null)).containsExactly("b1");
	}

	@Test
	void roundRobinStartsSuccessiveWalksAtSuccessiveKeys() {
		KeyPool pool = pool(Strategy.roundRobin(), "k0", "", "k1", "", "k2", "");

		assertThat(walk(pool, "opus", null)).containsExactly("k0", "k1", "k2");
		assertThat(walk(pool, "opus", null)).containsExactly("k1", "k2", "k0");
		assertThat(walk(pool, "opus", null)).containsExactly("k2", "k0", "k1");
		assertThat(walk(pool, "opus", null)).containsExactly("k0", "k1", "k2");
	}

	@Test
	void headroomTriesTheKeyWithTheLargestRemainingFractionFirst() {
		KeyPool pool = pool(Strategy.headroom(this.rateLimits), "k0", "", "k1", "", "k2", "", "k3", "");
		pool.observe(key(pool, "k0"), "opus", headers("requests", "100", "10", START.plusSeconds(60).toString()));
		pool.observe(key(pool, "k1"), "opus", headers("requests", "100", "80", START.plusSeconds(60).toString()));
		pool.observe(key(pool, "k2"), "haiku", headers("requests", "100", "5", START.plusSeconds(60).toString()));

		assertThat(walk(pool, "opus", null)).as("never reported counts as full; ties keep config order")
			.containsExactly("k2", "k3", "k1", "k0");
		assertThat(walk(pool, "haiku", null)).containsExactly("k0", "k1", "k3", "k2");
	}

	@Test
	void aSessionStaysOnItsKeyAfterTheFirstKeyRecovers() {
		KeyPool pool = pool("k0", "k1");
		pool.coolDown(key(pool, "k0"), "opus", Duration.ofSeconds(10), 429);
		assertThat(walk(pool, "opus", "s-1")).containsExactly("k1");
		pool.rememberSession("s-1", key(pool, "k1"));

		this.clock.advance(Duration.ofSeconds(11));

		assertThat(walk(pool, "opus", "s-1")).containsExactly("k1", "k0");
		assertThat(walk(pool, "opus", "s-2")).as("another session: the strategy decides").containsExactly("k0", "k1");
	}

	@Test
	void aSessionWhoseKeyIsLimitedForTheClassMovesOn() {
		KeyPool pool = pool("k0", "k1");
		pool.rememberSession("s-1", key(pool, "k1"));

		pool.coolDown(key(pool, "k1"), "opus", Duration.ofSeconds(10), 429);

		assertThat(walk(pool, "opus", "s-1")).containsExactly("k0");
		assertThat(walk(pool, "haiku", "s-1")).containsExactly("k1", "k0");
	}

	@Test
	void resetClearsEveryScopeAndTheReportedLimits() {
		KeyPool pool = pool("k0");
		PoolKey k0 = key(pool, "k0");
		pool.coolDown(k0, "opus", Duration.ofSeconds(30), 429);
		pool.observe(k0, "haiku", headers("requests", "50", "0", START.plusSeconds(30).toString()));

		pool.reset(k0);

		assertThat(pool.status(k0)).isEqualTo(KeyStatus.AVAILABLE);
		assertThat(pool.cooldowns(k0, START)).isEmpty();
		assertThat(pool.rateLimits(k0)).isEmpty();
	}

	private static java.util.function.Function<String, String> headers(String resource, String limit,
			String remaining, String reset) {
		Map<String, String> headers = new HashMap<>();
		headers.put("anthropic-ratelimit-" + resource + "-limit", limit);
		headers.put("anthropic-ratelimit-" + resource + "-remaining", remaining);
		headers.put("anthropic-ratelimit-" + resource + "-reset", reset);
		return headers::get;
	}

	private static final class MapSessions implements SessionAffinity {

		private final Map<String, String> keys = new HashMap<>();

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
