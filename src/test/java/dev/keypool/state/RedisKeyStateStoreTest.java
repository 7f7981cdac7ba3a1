package dev.keypool.state;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.keypool.pool.CooldownReason;
import dev.keypool.pool.KeyState;
import dev.keypool.pool.KeyStatus;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.lettuce.core.resource.Delay;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration.LettuceClientConfigurationBuilder;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two (or more) store instances, each with its own Lettuce connections, on one real Redis:
 * what one replica marks, the others honour.
 */
class RedisKeyStateStoreTest {

	@RegisterExtension
	static final RedisServerSupport redis = new RedisServerSupport();

	private static final String POOL = "anthropic";

	private static final Duration TIMEOUT = Duration.ofMillis(500);

	private final List<Runnable> cleanup = new ArrayList<>();

	private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

	/**
	 * The first replicas in a JVM run cold (Lettuce, Netty, Reactor and Jackson load and
	 * compile), which on a busy machine outlasts the 500ms call timeout and the 1s waits below:
	 * that time belongs to no test. Two replicas pass one change once before the tests.
	 */
	@BeforeAll
	static void warmUp() {
		RedisKeyStateStoreTest warmUp = new RedisKeyStateStoreTest();
		try {
			RedisKeyStateStore a = warmUp.replica("warm-up:");
			RedisKeyStateStore b = warmUp.replica("warm-up:");
			Instant now = Instant.now();
			a.coolDown(POOL, "primary", now.plusSeconds(60), 429, now);
			await().atMost(Duration.ofSeconds(30)).until(() -> b.get(POOL, "primary").cooldownUntil() != null);
		}
		finally {
			warmUp.stopReplicas();
		}
	}

	@BeforeEach
	void cleanRedisAndCaptureLogs() {
		redis.flushAll();
		Logger logger = (Logger) LoggerFactory.getLogger(RedisKeyStateStore.class);
		this.logs.start();
		logger.addAppender(this.logs);
	}

	@AfterEach
	void stopReplicas() {
		Collections.reverse(this.cleanup);
		this.cleanup.forEach(Runnable::run);
		((Logger) LoggerFactory.getLogger(RedisKeyStateStore.class)).detachAppender(this.logs);
	}

	@Test
	void cooldownOnOneReplicaIsSeenByTheOther() {
		RedisKeyStateStore a = replica("keypool:");
		RedisKeyStateStore b = replica("keypool:");
		Instant now = Instant.now();

		a.coolDown(POOL, "primary", now.plusSeconds(60), 429, now);

		await().atMost(Duration.ofSeconds(1))
			.until(() -> b.get(POOL, "primary").statusAt(Instant.now()) == KeyStatus.COOLING_DOWN);
		await().atMost(Duration.ofSeconds(1)).until(() -> b.get(POOL, "primary").equals(a.get(POOL, "primary")));
		assertThat(b.get(POOL, "primary").lastStatus()).isEqualTo(429);
	}

	@Test
	void propagationDelayBetweenTwoReplicas() {
		RedisKeyStateStore a = replica("keypool:");
		RedisKeyStateStore b = replica("keypool:");
		int warmup = 20;
		int marks = 50;
		long[] micros = new long[marks];
		for (int i = -warmup; i < marks; i++) {
			String key = "key" + i;
			Instant now = Instant.now();
			long start = System.nanoTime();
			a.coolDown(POOL, key, now.plusSeconds(60), 429, now);
			long deadline = start + TimeUnit.SECONDS.toNanos(2);
			// a measurement, not a wait for state: spin so the delay is resolved to microseconds
			while (b.get(POOL, key).cooldownUntil() == null && System.nanoTime() < deadline) {
				Thread.onSpinWait();
			}
			long elapsed = (System.nanoTime() - start) / 1000;
			assertThat(b.get(POOL, key).cooldownUntil()).as("mark %d reached B", i).isNotNull();
			if (i >= 0) {
				micros[i] = elapsed;
			}
		}
		java.util.Arrays.sort(micros);
		System.out.printf("propagation delay A -> B over %d marks: median %.2f ms, p90 %.2f ms, max %.2f ms%n", marks,
				micros[marks / 2] / 1000.0, micros[marks * 9 / 10] / 1000.0, micros[marks - 1] / 1000.0);
		assertThat(micros[marks / 2]).as("median propagation delay in µs").isLessThan(100_000);
	}

	@Test
	void aModelClassCooldownIsSharedAndLeavesTheOtherClassesAlone() {
		RedisKeyStateStore a = replica("keypool:");
		RedisKeyStateStore b = replica("keypool:");
		Instant now = Instant.now();

		a.coolDown(POOL, "primary", "opus", now.plusSeconds(60), null, CooldownReason.PROACTIVE, now);

		await().atMost(Duration.ofSeconds(1))
			.until(() -> b.get(POOL, "primary", "opus").statusAt(Instant.now()) == KeyStatus.COOLING_DOWN);
		assertThat(b.get(POOL, "primary", "opus").cooldownReason()).isEqualTo(CooldownReason.PROACTIVE);
		assertThat(b.get(POOL, "primary", "haiku")).isEqualTo(KeyState.FRESH);
		assertThat(b.get(POOL, "primary")).as("key-wide untouched").isEqualTo(KeyState.FRESH);
		assertThat(redis.command("EXISTS keypool:{anthropic}:scope:primary:opus")).isEqualTo("1");
	}

	@Test
	void aScopedMarkKeepsTheLaterDeadlineAcrossReplicas() {
		RedisKeyStateStore a = replica("keypool:");
		RedisKeyStateStore b = replica("keypool:");
		Instant now = Instant.now();
		a.coolDown(POOL, "primary", "opus", now.plusSeconds(600), 429, CooldownReason.RATE_LIMITED, now);
		await().atMost(Duration.ofSeconds(1)).until(() -> b.get(POOL, "primary", "opus").cooldownUntil() != null);

		b.coolDown(POOL, "primary", "opus", now.plusSeconds(5), 429, CooldownReason.RATE_LIMITED, now);

		await().atMost(Duration.ofSeconds(1))
			.until(() -> b.get(POOL, "primary", "opus").equals(a.get(POOL, "primary", "opus")));
		assertThat(Duration.between(now, a.get(POOL, "primary", "opus").cooldownUntil()))
			.isGreaterThan(Duration.ofSeconds(500));
	}

	@Test
	void aResetOnOneReplicaClearsEveryScopeOnTheOther() {
		RedisKeyStateStore a = replica("keypool:");
		RedisKeyStateStore b = replica("keypool:");
		Instant now = Instant.now();
		a.coolDown(POOL, "primary", "opus", now.plusSeconds(600), 429, CooldownReason.RATE_LIMITED, now);
		a.coolDown(POOL, "primary", "haiku", now.plusSeconds(600), 429, CooldownReason.RATE_LIMITED, now);
		await().atMost(Duration.ofSeconds(1)).until(() -> b.scopes(POOL, "primary").size() == 2);

		a.reset(POOL, "primary");

		await().atMost(Duration.ofSeconds(1))
			.until(() -> b.get(POOL, "primary", "opus").isAvailableAt(Instant.now())
					&& b.get(POOL, "primary", "haiku").isAvailableAt(Instant.now()));
		await().atMost(Duration.ofSeconds(1))
			.until(() -> redis.command("EXISTS keypool:{anthropic}:scope:primary:opus").equals("0"));
	}

	@Test
	void entriesWrittenBeforeScopesExistedAreReadAsKeyWide() {
		long until = Instant.now().plusSeconds(300).toEpochMilli();
		redis.command("HSET keypool:{anthropic}:key:legacy pool anthropic key legacy disabled 0 until " + until
				+ " status 429 at " + Instant.now().toEpochMilli() + " version 1");
		redis.command("SADD keypool:{anthropic}:keys keypool:{anthropic}:key:legacy");

		RedisKeyStateStore b = replica("keypool:");

		await().atMost(Duration.ofSeconds(2))
			.until(() -> b.get(POOL, "legacy").statusAt(Instant.now()) == KeyStatus.COOLING_DOWN);
		assertThat(b.get(POOL, "legacy").cooldownReason()).isEqualTo(CooldownReason.RATE_LIMITED);
		assertThat(b.scopes(POOL, "legacy")).isEmpty();
	}

	@Test
	void disableOnOneReplicaHoldsOnTheOther() {
		RedisKeyStateStore a = replica("keypool:");
		RedisKeyStateStore b = replica("keypool:");
		Instant now = Instant.now();

		a.disable(POOL, "primary", 401, now);

		await().atMost(Duration.ofSeconds(1)).until(() -> b.get(POOL, "primary").disabled());
		assertThat(b.get(POOL, "primary").statusAt(now.plus(Duration.ofDays(365)))).isEqualTo(KeyStatus.DISABLED);
		assertThat(redis.command("PTTL keypool:{anthropic}:key:primary")).as("no expiry while disabled").isEqualTo("-1");
	}

	@Test
	void resetOnOneReplicaMakesTheKeyAvailableOnTheOtherWithinOneSecond() {
		RedisKeyStateStore a = replica("keypool:");
		RedisKeyStateStore b = replica("keypool:");
		Instant now = Instant.now();
		a.coolDown(POOL, "primary", now.plusSeconds(600), 429, now);
		a.disable(POOL, "primary", 403, now);
		await().atMost(Duration.ofSeconds(1)).until(() -> b.get(POOL, "primary").disabled());

		a.reset(POOL, "primary");

		await().atMost(Duration.ofSeconds(1)).until(() -> b.get(POOL, "primary").isAvailableAt(Instant.now()));
		await().atMost(Duration.ofSeconds(1))
			.until(() -> redis.command("EXISTS keypool:{anthropic}:key:primary").equals("0"));
	}

	@Test
	void concurrentMarksKeepTheLaterDeadline() throws Exception {
		RedisKeyStateStore a = replica("keypool:");
		RedisKeyStateStore b = replica("keypool:");
		CountDownLatch go = new CountDownLatch(1);
		ExecutorService threads = Executors.newFixedThreadPool(2);
		try {
			threads.submit(() -> markRepeatedly(go, a, Duration.ofSeconds(120)));
			threads.submit(() -> markRepeatedly(go, b, Duration.ofSeconds(60)));
			go.countDown();
		}
		finally {
			threads.shutdown();
			assertThat(threads.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
		}

		await().atMost(Duration.ofSeconds(1))
			.until(() -> a.get(POOL, "primary").equals(b.get(POOL, "primary")) && redisUntil("keypool:") != 0);
		long until = redisUntil("keypool:");
		assertThat(a.get(POOL, "primary").cooldownUntil()).isEqualTo(Instant.ofEpochMilli(until));
		assertThat(Duration.between(Instant.now(), Instant.ofEpochMilli(until)))
			.as("the 120s mark wins over the 60s marks")
			.isGreaterThan(Duration.ofSeconds(100));
	}

	@Test
	void theLocalViewTakesTheDeadlineRedisComputed() {
		Clock wrong = Clock.fixed(Instant.parse("2001-01-01T00:00:00Z"), ZoneOffset.UTC);
		RedisKeyStateStore a = replica("keypool:", wrong, Duration.ofSeconds(30));
		Instant at = wrong.instant();

		a.coolDown(POOL, "primary", at.plusSeconds(60), 429, at);

		await().atMost(Duration.ofSeconds(1))
			.until(() -> a.get(POOL, "primary").cooldownUntil().isAfter(Instant.now().plusSeconds(50)));
		assertThat(a.get(POOL, "primary").cooldownUntil()).isEqualTo(Instant.ofEpochMilli(redisUntil("keypool:")));
	}

	@Test
	void aCooldownEntryExpiresInRedisWhenTheCooldownEnds() {
		RedisKeyStateStore a = replica("keypool:");
		Instant now = Instant.now();

		a.coolDown(POOL, "primary", now.plusMillis(400), 429, now);

		await().atMost(Duration.ofSeconds(1))
			.until(() -> redis.command("EXISTS keypool:{anthropic}:key:primary").equals("1"));
		long ttl = Long.parseLong(redis.command("PTTL keypool:{anthropic}:key:primary"));
		assertThat(ttl).isBetween(1L, 400L);
		await().atMost(Duration.ofSeconds(2))
			.until(() -> redis.command("EXISTS keypool:{anthropic}:key:primary").equals("0"));
	}

	@Test
	void aReplicaStartingLaterLoadsTheSharedState() {
		RedisKeyStateStore a = replica("keypool:");
		Instant now = Instant.now();
		a.disable(POOL, "primary", 401, now);
		a.coolDown(POOL, "fallback", now.plusSeconds(60), 429, now);
		await().atMost(Duration.ofSeconds(1))
			.until(() -> redis.command("EXISTS keypool:{anthropic}:key:fallback").equals("1"));

		RedisKeyStateStore late = replica("keypool:");

		assertThat(late.get(POOL, "primary").disabled()).isTrue();
		assertThat(late.get(POOL, "fallback").cooldownUntil()).isEqualTo(a.get(POOL, "fallback").cooldownUntil());
	}

	@Test
	void aMissedMessageIsCorrectedByTheNextResync() {
		RedisKeyStateStore a = replica("keypool:");
		RedisKeyStateStore b = replica("keypool:", Clock.systemUTC(), Duration.ofMillis(300));
		a.disable(POOL, "primary", 401, Instant.now());
		await().atMost(Duration.ofSeconds(1)).until(() -> b.get(POOL, "primary").disabled());

		// a reset whose message B never got
		redis.command("DEL keypool:{anthropic}:key:primary");

		await().atMost(Duration.ofSeconds(2)).until(() -> !b.get(POOL, "primary").disabled());
	}

	/**
	 * A Sentinel promotes a replica that had not yet received the last writes (replication is
	 * asynchronous): same epoch, an older version counter, the entry missing. The replica
	 * that made the change gives it back instead of dropping it.
	 */
	@Test
	void aPromotedReplicaThatMissedTheLastConfirmedChangeGetsItBack() {
		RedisKeyStateStore a = replica("keypool:", Clock.systemUTC(), Duration.ofMillis(300));
		a.disable(POOL, "primary", 401, Instant.now());
		await().atMost(Duration.ofSeconds(1))
			.until(() -> redis.command("EXISTS keypool:{anthropic}:key:primary").equals("1"));
		long written = Long.parseLong(redis.command("HGET keypool:{anthropic}:key:primary version"));

		// the state as the promoted replica has it: the disable never arrived
		redis.command("DEL keypool:{anthropic}:key:primary");
		redis.command("SREM keypool:{anthropic}:keys keypool:{anthropic}:key:primary");
		redis.command("SET keypool:{anthropic}:version " + (written - 1000));

		await().atMost(Duration.ofSeconds(3))
			.until(() -> "1".equals(redis.command("HGET keypool:{anthropic}:key:primary disabled")));
		assertThat(a.get(POOL, "primary").disabled()).isTrue();
		RedisKeyStateStore late = replica("keypool:");
		assertThat(late.get(POOL, "primary").disabled()).isTrue();
	}

	@Test
	void marksKeepWorkingLocallyWhileRedisIsUnreachableWithOneWarning() {
		RedisKeyStateStore a = replica("keypool:");
		assertThat(a.health()).isEqualTo(new RedisKeyStateStore.StoreHealth("redis", true));
		redis.pause();
		try {
			Instant now = Instant.now();
			a.coolDown(POOL, "primary", now.plusSeconds(60), 429, now);
			assertThat(a.get(POOL, "primary").statusAt(now)).isEqualTo(KeyStatus.COOLING_DOWN);
			await().atMost(Duration.ofSeconds(3)).until(() -> !a.health().connected());
			for (int i = 0; i < 20; i++) {
				a.coolDown(POOL, "key-" + i, now.plusSeconds(60), 429, now);
				a.disable(POOL, "other-" + i, 401, now);
			}
			assertThat(a.get(POOL, "other-7").disabled()).isTrue();
			assertThat(warnings()).hasSize(1);
			assertThat(warnings().get(0).getFormattedMessage()).contains("Redis is unreachable");
		}
		finally {
			redis.resume();
		}
		await().atMost(Duration.ofSeconds(3)).until(() -> a.health().connected());
		assertThat(warnings()).hasSize(1);
		await().atMost(Duration.ofSeconds(1))
			.until(() -> redis.command("EXISTS keypool:{anthropic}:key:other-7").equals("1"));
	}

	@Test
	void changesMadeDuringAnOutageSurviveReplaysThatFailBeforeRedisIsBack() {
		RedisKeyStateStore a = replica("keypool:", Clock.systemUTC(), Duration.ofMillis(200));
		Logger logger = (Logger) LoggerFactory.getLogger(RedisKeyStateStore.class);
		Level level = logger.getLevel();
		logger.setLevel(Level.DEBUG);
		redis.pause();
		try {
			Instant now = Instant.now();
			a.coolDown(POOL, "primary", now.plusSeconds(600), 429, now);
			await().atMost(Duration.ofSeconds(3)).until(() -> !a.health().connected());
			for (int i = 0; i < 10; i++) {
				a.disable(POOL, "key-" + i, 401, now);
			}
			// each failed sync tried to replay the changes and was cut short by Redis
			await().atMost(Duration.ofSeconds(5)).until(() -> count("Redis still unreachable") >= 2);
		}
		finally {
			redis.resume();
			logger.setLevel(level);
		}
		await().atMost(Duration.ofSeconds(3)).until(() -> a.health().connected());
		await().atMost(Duration.ofSeconds(1)).untilAsserted(() -> {
			for (int i = 0; i < 10; i++) {
				assertThat(redis.command("EXISTS keypool:{anthropic}:key:key-" + i)).as("key-%d in Redis", i)
					.isEqualTo("1");
			}
		});
	}

	@Test
	void stateConvergesWhenRedisIsReachableAgain() {
		RedisKeyStateStore a = replica("keypool:");
		RedisKeyStateStore b = replica("keypool:");
		Instant now = Instant.now();
		b.disable(POOL, "revoked", 401, now);
		await().atMost(Duration.ofSeconds(1)).until(() -> a.get(POOL, "revoked").disabled());
		redis.pause();
		try {
			a.coolDown(POOL, "primary", now.plusSeconds(600), 429, now);
			b.disable(POOL, "fallback", 403, now);
			a.reset(POOL, "revoked");
			await().atMost(Duration.ofSeconds(3)).until(() -> !a.health().connected() && !b.health().connected());
		}
		finally {
			redis.resume();
		}
		// B never wrote to the frozen Redis after its disable: it may only notice at its resync,
		// so what counts is that each sees the other's changes once Redis answers again
		await().atMost(Duration.ofSeconds(3)).untilAsserted(() -> {
			assertThat(b.get(POOL, "primary").statusAt(Instant.now())).isEqualTo(KeyStatus.COOLING_DOWN);
			assertThat(a.get(POOL, "fallback").disabled()).isTrue();
			assertThat(b.get(POOL, "revoked").disabled()).isFalse();
			assertThat(a.get(POOL, "primary")).isEqualTo(b.get(POOL, "primary"));
		});
	}

	@Test
	void aRedisRestartedEmptyGetsTheLiveStateRepublished() {
		RedisKeyStateStore a = replica("keypool:");
		RedisKeyStateStore b = replica("keypool:");
		Instant now = Instant.now();
		a.coolDown(POOL, "primary", now.plusSeconds(600), 429, now);
		b.disable(POOL, "fallback", 401, now);
		await().atMost(Duration.ofSeconds(1))
			.until(() -> a.get(POOL, "fallback").disabled() && b.get(POOL, "primary").cooldownUntil() != null);
		Instant deadline = a.get(POOL, "primary").cooldownUntil();

		redis.stop();
		redis.start();

		await().atMost(Duration.ofSeconds(5))
			.until(() -> redis.command("EXISTS keypool:{anthropic}:key:primary").equals("1")
					&& redis.command("EXISTS keypool:{anthropic}:key:fallback").equals("1"));
		assertThat(Instant.ofEpochMilli(redisUntil("keypool:"))).as("same deadline, not a new one").isEqualTo(deadline);
		RedisKeyStateStore late = replica("keypool:");
		assertThat(late.get(POOL, "primary").cooldownUntil()).isEqualTo(deadline);
		assertThat(late.get(POOL, "fallback").disabled()).isTrue();
		await().atMost(Duration.ofSeconds(3)).until(() -> a.health().connected() && b.health().connected());
		a.disable(POOL, "third", 401, Instant.now());
		await("changes still travel after the restart")
			.atMost(Duration.ofSeconds(1))
			.until(() -> b.get(POOL, "third").disabled());
	}

	@Test
	void aResetMadeDuringAnOutageHoldsWhenRedisComesBackEmptyToAReplicaThatStillRemembersTheDisable() {
		RedisKeyStateStore a = replica("keypool:");
		RedisKeyStateStore b = replica("keypool:");
		b.disable(POOL, "revoked", 401, Instant.now());
		await().atMost(Duration.ofSeconds(1)).until(() -> a.get(POOL, "revoked").disabled());
		// B is away longer than Redis: it comes back still knowing the key disabled
		b.stop();

		redis.stop();
		try {
			a.reset(POOL, "revoked");
			await().atMost(Duration.ofSeconds(3)).until(() -> !a.health().connected());
		}
		finally {
			redis.start();
		}

		// A replays its reset to the empty Redis before it reports itself connected
		await().atMost(Duration.ofSeconds(5)).until(() -> a.health().connected());
		assertThat(a.get(POOL, "revoked").disabled()).isFalse();
		b.start();
		await().atMost(Duration.ofSeconds(5)).until(() -> b.health().connected());
		// B re-published what it knew before reporting itself connected; once A sees B's next
		// change it has seen everything B wrote before it
		b.disable(POOL, "marker", 401, Instant.now());
		await().atMost(Duration.ofSeconds(1)).until(() -> a.get(POOL, "marker").disabled());
		assertThat(a.get(POOL, "revoked").disabled()).as("on the replica that reset it").isFalse();
		assertThat(b.get(POOL, "revoked").disabled()).as("on the replica that remembered the disable").isFalse();
		assertThat(redis.command("HGET keypool:key:anthropic:revoked disabled")).as("in Redis").isNull();
		assertThat(replica("keypool:").get(POOL, "revoked").disabled()).as("on a replica starting now").isFalse();
	}

	@Test
	void aReplicaStartsWithoutRedisAndCatchesUpWhenRedisComes() {
		RedisKeyStateStore a;
		redis.stop();
		try {
			a = replica("keypool:");
			assertThat(a.health().connected()).isFalse();
			Instant now = Instant.now();
			a.coolDown(POOL, "primary", now.plusSeconds(600), 429, now);
			assertThat(a.get(POOL, "primary").statusAt(now)).isEqualTo(KeyStatus.COOLING_DOWN);
			assertThat(warnings()).hasSize(1);
		}
		finally {
			redis.start();
		}
		await().atMost(Duration.ofSeconds(3)).until(() -> a.health().connected());
		RedisKeyStateStore b = replica("keypool:");
		assertThat(b.get(POOL, "primary").cooldownUntil()).isEqualTo(a.get(POOL, "primary").cooldownUntil());
		a.disable(POOL, "fallback", 401, Instant.now());
		await().atMost(Duration.ofSeconds(1)).until(() -> b.get(POOL, "fallback").disabled());
	}

	@Test
	void aMessageThatIsNotAChangeIsIgnored() {
		RedisKeyStateStore a = replica("keypool:");
		RedisKeyStateStore b = replica("keypool:");

		redis.command("PUBLISH keypool:changes not-a-change");
		redis.command("PUBLISH keypool:changes {\"v\":\"x\"}");
		a.disable(POOL, "primary", 401, Instant.now());

		await().atMost(Duration.ofSeconds(1)).until(() -> b.get(POOL, "primary").disabled());
	}

	@Test
	void keysOfAnotherPrefixAreNeverTouched() {
		redis.command("SET other:key:anthropic:primary untouched");
		redis.command("HSET keypoolx:key:anthropic:primary disabled 1");
		redis.command("SADD keypool:keys-of-someone-else member");
		redis.command("SET keypool untouched");
		RedisKeyStateStore a = replica("keypool:");
		RedisKeyStateStore b = replica("keypool:");
		RedisKeyStateStore tenant = replica("tenant2:");
		Instant now = Instant.now();

		a.coolDown(POOL, "primary", now.plusSeconds(60), 429, now);
		a.disable(POOL, "fallback", 401, now);
		a.reset(POOL, "fallback");
		await().atMost(Duration.ofSeconds(1)).until(() -> b.get(POOL, "primary").cooldownUntil() != null);
		replica("keypool:");

		assertThat(redis.command("GET other:key:anthropic:primary")).isEqualTo("untouched");
		assertThat(redis.command("HGET keypoolx:key:anthropic:primary disabled")).isEqualTo("1");
		assertThat(redis.command("SCARD keypool:keys-of-someone-else")).isEqualTo("1");
		assertThat(redis.command("GET keypool")).isEqualTo("untouched");
		for (String key : List.of("other:key:anthropic:primary", "keypoolx:key:anthropic:primary",
				"keypool:keys-of-someone-else", "keypool")) {
			assertThat(redis.command("PTTL " + key)).as("no expiry set on %s", key).isEqualTo("-1");
		}
		assertThat(tenant.get(POOL, "primary")).as("another prefix is another gateway").isEqualTo(KeyState.FRESH);
	}

	@Test
	void aConnectionStillBeingOpenedWhenTheClientShutsDownIsClosed() throws Exception {
		RedisURI uri = RedisURI.create(redis.host(), redis.port());
		for (int i = 0; i < 10; i++) {
			ClientResources resources = DefaultClientResources.create();
			LettuceClientConfigurationBuilder client = LettuceClientConfiguration.builder().clientResources(resources);
			RedisStateConfiguration.closeLateConnectionsOnShutdown(client, Duration.ofMillis(100));
			LettuceConnectionFactory connections = new LettuceConnectionFactory(
					new RedisStandaloneConfiguration(redis.host(), redis.port()), client.build());
			connections.afterPropertiesSet();
			connections.start();
			RedisClient lettuce = (RedisClient) connections.getRequiredNativeClient();
			CompletableFuture<?> connecting = lettuce.connectAsync(StringCodec.UTF8, uri).toCompletableFuture();
			Thread.sleep(i % 3);

			connections.destroy();
			resources.shutdown(0, 1, TimeUnit.SECONDS).get(5, TimeUnit.SECONDS);

			// a channel left registered on an event loop that stopped never finishes connecting
			// (and never releases Lettuce's read buffer, which NettyLeakDetection reports)
			assertThat(connecting.handle((connection, ex) -> true)).as("connect %d ends", i)
				.succeedsWithin(Duration.ofSeconds(3));
		}
	}

	// ---- helpers

	private RedisKeyStateStore replica(String prefix) {
		return replica(prefix, Clock.systemUTC(), Duration.ofSeconds(30));
	}

	private RedisKeyStateStore replica(String prefix, Clock clock, Duration resyncInterval) {
		ClientResources resources = DefaultClientResources.builder()
			.reconnectDelay(Delay.constant(Duration.ofMillis(100)))
			.build();
		LettuceClientConfigurationBuilder client = LettuceClientConfiguration.builder()
			.clientResources(resources)
			.commandTimeout(Duration.ofSeconds(1));
		// shut down like the application does
		RedisStateConfiguration.closeLateConnectionsOnShutdown(client, Duration.ofMillis(100));
		LettuceConnectionFactory connections = new LettuceConnectionFactory(
				new RedisStandaloneConfiguration(redis.host(), redis.port()), client.build());
		connections.afterPropertiesSet();
		connections.start();
		RedisKeyStateStore store = new RedisKeyStateStore(connections,
				new RedisStateSettings(prefix, resyncInterval, TIMEOUT), clock, () -> List.of(POOL));
		store.start();
		this.cleanup.add(() -> {
			store.stop();
			connections.destroy();
			resources.shutdown(0, 1, TimeUnit.SECONDS);
		});
		return store;
	}

	private static void markRepeatedly(CountDownLatch go, RedisKeyStateStore store, Duration cooldown) {
		try {
			go.await();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return;
		}
		for (int i = 0; i < 20; i++) {
			Instant now = Instant.now();
			store.coolDown(POOL, "primary", now.plus(cooldown), 429, now);
		}
	}

	/** The deadline Redis holds for anthropic/primary, 0 if none. */
	private static long redisUntil(String prefix) {
		String until = redis.command("HGET " + prefix + "{anthropic}:key:primary until");
		return (until != null) ? Long.parseLong(until) : 0;
	}

	private long count(String message) {
		return List.copyOf(this.logs.list).stream().filter((event) -> event.getFormattedMessage().contains(message)).count();
	}

	private List<ILoggingEvent> warnings() {
		return this.logs.list.stream().filter((event) -> event.getLevel() == Level.WARN).toList();
	}

}
