package dev.keypool.state;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import dev.keypool.pool.CooldownReason;
import dev.keypool.pool.InMemoryKeyStateStore;
import dev.keypool.pool.KeyState;
import dev.keypool.pool.KeyStateStore;
import dev.keypool.pool.ModelClasses;
import dev.keypool.state.RedisChangeSubscription.Change;
import dev.keypool.state.RedisStateScripts.Result;
import dev.keypool.state.RedisStateScripts.Slot;
import dev.keypool.state.RedisStateScripts.Snapshot;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.event.connection.ConnectionActivatedEvent;
import io.lettuce.core.event.connection.ConnectionDeactivatedEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import org.springframework.context.SmartLifecycle;
import org.springframework.data.redis.connection.ReactiveRedisConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;

/**
 * Key state shared by every replica through Redis, fail-open.
 * <p>
 * Reads never touch Redis: {@link #get} answers from a local {@link InMemoryKeyStateStore}
 * view. A write changes the local view at once and then goes to Redis through one Lua
 * script, which computes deadlines from Redis' clock, keeps the later deadline, lets the
 * Redis entry expire when its cooldown ends and publishes the change. Every replica
 * subscribes to the changes, loads the full state when it starts, when it (re)connects and
 * every {@code resyncInterval}, so a missed message is corrected within that interval.
 * <p>
 * The local view is the last state confirmed by Redis with this replica's own unconfirmed
 * changes applied on top. When Redis is unreachable the replica keeps working on that view,
 * logs one warning and reports {@code connected=false}; when Redis is back it pushes the
 * changes it made meanwhile and loads the others'. A Redis that comes back empty (its
 * epoch marker is gone) gets every live cooldown and disabled key re-published, except where
 * Redis has a reset of that key newer than what the replica knew.
 * <p>
 * Each (key, model class) is its own entry, shared exactly like the key-wide one; a reset of
 * a key clears every class.
 * <p>
 * The parts, each readable and testable alone: {@link RedisStateScripts} (the Lua scripts,
 * their arguments and answers, key names), {@link RedisChangeSubscription} (the change
 * messages), {@link SlotLedger} and {@link PendingChange} (per (key, scope): what Redis
 * confirmed and this replica's changes on top), {@link OutageReplay} (pushing the changes
 * made during an outage, in order), {@link EpochRepublish} (what to give back to a Redis that
 * lost the state), and this class (writes, changes from other replicas, resync, connectivity).
 * <p>
 * Only pool names, key ids, model classes and facts (deadlines, statuses, times) are written;
 * never a secret.
 */
public class RedisKeyStateStore implements KeyStateStore, SmartLifecycle {

	/** Starts after the Redis connection factory and before the web server takes traffic. */
	public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 4096;

	private static final Logger logger = LoggerFactory.getLogger(RedisKeyStateStore.class);

	private final InMemoryKeyStateStore view = new InMemoryKeyStateStore();

	private final ConcurrentMap<Slot, SlotLedger> ledgers = new ConcurrentHashMap<>();

	private final ReactiveRedisConnectionFactory connectionFactory;

	private final RedisStateScripts scripts;

	private final RedisChangeSubscription changes;

	private final OutageReplay outageReplay;

	private final RedisStateSettings settings;

	private final Clock clock;

	/** Per pool: the epoch marker last seen; another one means that pool's Redis lost its data. */
	private final ConcurrentMap<String, String> knownEpochs = new ConcurrentHashMap<>();

	/** Per pool: the highest version Redis confirmed to this replica. */
	private final ConcurrentMap<String, Long> highestVersions = new ConcurrentHashMap<>();

	private final Supplier<? extends Collection<String>> poolNames;

	private final AtomicReference<Connectivity> connectivity = new AtomicReference<>(Connectivity.UNKNOWN);

	private final AtomicLong opOrder = new AtomicLong();

	private final AtomicInteger syncRequests = new AtomicInteger();

	private volatile long lastSyncNanos = System.nanoTime();

	private final AtomicBoolean running = new AtomicBoolean();

	private volatile Disposable.Composite subscriptions = Disposables.composite();

	private volatile CountDownLatch firstSync = new CountDownLatch(1);

	/**
	 * A store that loads the pools it is given on each sync (and any pool it has facts of).
	 *
	 * @param poolNames the configured pools, asked on each sync, so pools added by a reload are
	 * loaded too: every pool's state lives in its own hash slot and is loaded on its own
	 */
	public RedisKeyStateStore(ReactiveRedisConnectionFactory connectionFactory, RedisStateSettings settings,
			Clock clock, Supplier<? extends Collection<String>> poolNames) {
		this.poolNames = Objects.requireNonNull(poolNames, "poolNames");
		this.connectionFactory = Objects.requireNonNull(connectionFactory, "connectionFactory");
		this.settings = Objects.requireNonNull(settings, "settings");
		this.clock = Objects.requireNonNull(clock, "clock");
		this.scripts = new RedisStateScripts(new ReactiveStringRedisTemplate(connectionFactory), settings.prefix(),
				settings.timeout());
		this.changes = new RedisChangeSubscription(connectionFactory, this.scripts.names().channel(),
				settings.retryInterval(), settings.timeout());
		this.outageReplay = new OutageReplay(this.ledgers, clock, this::send, this::confirmed);
	}

	// ---- KeyStateStore

	@Override
	public KeyState get(String pool, String keyId) {
		return this.view.get(pool, keyId);
	}

	@Override
	public KeyState get(String pool, String keyId, String modelClass) {
		return this.view.get(pool, keyId, modelClass);
	}

	@Override
	public Map<String, KeyState> scopes(String pool, String keyId) {
		return this.view.scopes(pool, keyId);
	}

	@Override
	public Transition coolDown(String pool, String keyId, String modelClass, Instant until, Integer status,
			CooldownReason reason, Instant at) {
		return write(new Slot(pool, keyId, modelClass),
				PendingChange.coolDown(status, reason, until, at, this.opOrder.incrementAndGet()));
	}

	@Override
	public Transition disable(String pool, String keyId, int status, Instant at) {
		return write(new Slot(pool, keyId, ModelClasses.KEY_WIDE),
				PendingChange.disable(status, at, this.opOrder.incrementAndGet()));
	}

	/** Resets the whole key; Redis drops its class scopes with it and tells every replica. */
	@Override
	public Transition reset(String pool, String keyId) {
		forgetScopes(pool, keyId, 0);
		return write(new Slot(pool, keyId, ModelClasses.KEY_WIDE),
				PendingChange.reset(this.opOrder.incrementAndGet()));
	}

	/**
	 * Makes every class scope of the key available, as a reset of the key does. With a
	 * {@code version} (from Redis), older news about those scopes is ignored from then on.
	 */
	private void forgetScopes(String pool, String keyId, long version) {
		for (Map.Entry<Slot, SlotLedger> each : this.ledgers.entrySet()) {
			Slot slot = each.getKey();
			if (slot.isKeyWide() || !slot.pool().equals(pool) || !slot.keyId().equals(keyId)) {
				continue;
			}
			SlotLedger ledger = each.getValue();
			synchronized (ledger) {
				if (version != 0 && version <= ledger.version) {
					// Redis saw this scope marked after the reset
					continue;
				}
				ledger.pending.removeIf((op) -> !op.inFlight);
				ledger.version = Math.max(ledger.version, version);
				ledger.confirmed = KeyState.FRESH;
				this.view.update(pool, keyId, slot.scope(), (current) -> ledger.effective());
			}
		}
	}

	@Override
	public StoreHealth health() {
		return new StoreHealth("redis", this.connectivity.get() == Connectivity.UP);
	}

	// ---- lifecycle

	@Override
	public void start() {
		if (!this.running.compareAndSet(false, true)) {
			return;
		}
		this.firstSync = new CountDownLatch(1);
		this.subscriptions = Disposables.composite();
		// messages sent while this replica was not listening are picked up by a full load
		this.subscriptions.add(this.changes.subscribe(this::requestSync, this::apply));
		this.subscriptions.add(watchConnections());
		Duration retry = this.settings.retryInterval();
		this.subscriptions.add(Flux.interval(retry, retry).subscribe((tick) -> onTick()));
		requestSync();
		if (!Schedulers.isInNonBlockingThread()) {
			// start serving with the shared view if Redis answers quickly; fail-open if not
			try {
				this.firstSync.await(this.settings.timeout().toMillis() * 2, TimeUnit.MILLISECONDS);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}
	}

	@Override
	public void stop() {
		if (!this.running.compareAndSet(true, false)) {
			return;
		}
		this.subscriptions.dispose();
		this.changes.close();
	}

	@Override
	public boolean isRunning() {
		return this.running.get();
	}

	@Override
	public int getPhase() {
		return PHASE;
	}

	// ---- writes

	private Transition write(Slot slot, PendingChange op) {
		SlotLedger ledger = ledger(slot);
		Transition transition;
		boolean send;
		synchronized (ledger) {
			ledger.add(op);
			// only once a sync has reached Redis: until then the connection may still have to be
			// opened, which must not happen on the caller's (event-loop) thread
			send = this.connectivity.get() == Connectivity.UP;
			op.inFlight = send;
			transition = this.view.update(slot.pool(), slot.keyId(), slot.scope(), (current) -> ledger.effective());
		}
		if (send) {
			// otherwise the change waits for the next sync, which replays it
			send(slot, op, Instant.ofEpochMilli(0))
				.subscribe((result) -> confirmed(slot, ledger, op, result), (ex) -> failed(slot, ledger, op, ex));
		}
		return transition;
	}

	/**
	 * Sends one change to Redis; {@code replayAt} later than 1970 means the change is pushed
	 * after the fact (on reconnect), so the cooldown runs until its deadline, not for its
	 * full length from now.
	 */
	private Mono<Result> send(Slot slot, PendingChange op, Instant replayAt) {
		String cooldownMs = "0";
		String atMs = "0";
		if (op.kind == PendingChange.Kind.COOLDOWN) {
			Instant from = (replayAt.toEpochMilli() > 0) ? replayAt : op.at;
			cooldownMs = Long.toString(Math.max(0, Duration.between(from, op.until).toMillis()));
		}
		if (replayAt.toEpochMilli() > 0 && op.at != null) {
			atMs = Long.toString(op.at.toEpochMilli());
		}
		String status = (op.kind == PendingChange.Kind.RESET) ? "" : Integer.toString((op.status != null) ? op.status : 0);
		return this.scripts.write(slot, op.kind.script, status, cooldownMs, "0", atMs,
				(op.reason != null) ? op.reason.wireName() : "");
	}

	private void confirmed(Slot slot, SlotLedger ledger, PendingChange op, Result result) {
		synchronized (ledger) {
			ledger.pending.remove(op);
			KeyState remote = (op.kind == PendingChange.Kind.RESET) ? ledger.confirmed.reset() : result.state();
			ledger.confirm(remote, result.version());
			this.view.update(slot.pool(), slot.keyId(), slot.scope(), (current) -> ledger.effective());
		}
		if (op.kind == PendingChange.Kind.RESET) {
			forgetScopes(slot.pool(), slot.keyId(), result.version());
		}
		sawVersion(slot.pool(), result.version());
		if (!result.epoch().equals(this.knownEpochs.get(slot.pool())) || this.connectivity.get() == Connectivity.DOWN) {
			requestSync();
		}
	}

	private void failed(Slot slot, SlotLedger ledger, PendingChange op, Throwable ex) {
		if (redisAnswered(ex)) {
			// Redis is there but refused the change: keep it locally, never retry it
			logger.warn("Redis refused the key state change {} of {}/{}: {}", op.kind.script, slot.pool(),
					slot.keyId(), ex.toString());
			synchronized (ledger) {
				ledger.pending.remove(op);
				ledger.confirmed = op.applyTo(ledger.confirmed);
			}
			return;
		}
		synchronized (ledger) {
			op.inFlight = false;
		}
		markDown(ex);
	}

	// ---- changes from other replicas

	private void apply(Change change) {
		long version = Long.parseLong(change.v());
		KeyState marked = "reset".equals(change.op()) ? null
				: RedisStateScripts.parseState(change.disabled(), change.until(), change.status(), change.at(), change.reason());
		Slot slot = new Slot(Objects.requireNonNull(change.pool(), "pool"), Objects.requireNonNull(change.key(), "key"),
				RedisStateScripts.scopeOf(change.scope()));
		SlotLedger ledger = ledger(slot);
		synchronized (ledger) {
			KeyState remote = (marked != null) ? marked : ledger.confirmed.reset();
			if (ledger.confirm(remote, version)) {
				this.view.update(slot.pool(), slot.keyId(), slot.scope(), (current) -> ledger.effective());
			}
		}
		if (marked == null) {
			forgetScopes(slot.pool(), slot.keyId(), version);
		}
		sawVersion(slot.pool(), version);
		if (!Objects.equals(change.e(), this.knownEpochs.get(slot.pool()))) {
			requestSync();
		}
	}

	// ---- full synchronisation: on start, on (re)connect, every resync interval

	private void onTick() {
		long sinceSync = System.nanoTime() - this.lastSyncNanos;
		if (this.connectivity.get() != Connectivity.UP || sinceSync >= this.settings.resyncInterval().toNanos()
				|| hasWaitingChanges()) {
			requestSync();
		}
	}

	/** Whether some local change is neither in Redis nor on its way there. */
	private boolean hasWaitingChanges() {
		for (SlotLedger ledger : this.ledgers.values()) {
			synchronized (ledger) {
				if (ledger.hasWaiting()) {
					return true;
				}
			}
		}
		return false;
	}

	/** Runs a sync now, or once more after the one running: concurrent requests coalesce. */
	private void requestSync() {
		if (this.running.get() && this.syncRequests.getAndIncrement() == 0) {
			drainSyncRequests();
		}
	}

	private void drainSyncRequests() {
		int requested = this.syncRequests.get();
		// a sync may have to open the connection, which Lettuce does synchronously: keep it off event loops
		sync().subscribeOn(Schedulers.boundedElastic()).doFinally((signal) -> {
			this.firstSync.countDown();
			if (this.syncRequests.addAndGet(-requested) != 0) {
				drainSyncRequests();
			}
		}).subscribe();
	}

	private Mono<Void> sync() {
		if (!this.running.get()) {
			return Mono.empty();
		}
		return Mono.defer(() -> {
			this.lastSyncNanos = System.nanoTime();
			return this.outageReplay.run().thenMany(Flux.defer(() -> Flux.fromIterable(poolsToLoad())))
				.concatMap(this::syncPool)
				.then();
		}).then(Mono.fromRunnable(this::markUp)).onErrorResume((ex) -> {
			markDown(ex);
			return Mono.empty();
		}).then();
	}

	/** The configured pools and every pool this replica holds facts of. */
	private Set<String> poolsToLoad() {
		Set<String> pools = new java.util.TreeSet<>(this.poolNames.get());
		this.ledgers.keySet().forEach((slot) -> pools.add(slot.pool()));
		return pools;
	}

	/** Loads one pool; gives back what this replica knows to a Redis that lost (some of) it. */
	private Mono<Void> syncPool(String pool) {
		return load(pool).flatMap((snapshot) -> {
			boolean lostData = !snapshot.epoch().equals(this.knownEpochs.get(pool));
			// a replica promoted before it had our last confirmed changes: same epoch, older counter
			boolean lostChanges = !lostData && snapshot.before() < this.highestVersions.getOrDefault(pool, 0L);
			if (!lostData && !lostChanges) {
				return Mono.just(snapshot);
			}
			// a Redis we have not seen before, or one that lost data: give it what we know
			return republishLive(pool).then(load(pool)).doOnNext((reloaded) -> epochChanged(pool, reloaded.epoch(),
					lostChanges));
		}).doOnNext(this::apply).then();
	}

	private void epochChanged(String pool, String epoch, boolean lostChanges) {
		String before = this.knownEpochs.put(pool, epoch);
		// what this Redis holds now is the baseline, even if its clock is behind the old master's
		this.highestVersions.remove(pool);
		if (before != null || lostChanges) {
			logger.info("Redis lost the shared key state of pool '{}'; re-published this replica's live cooldowns "
					+ "and disabled keys", pool);
		}
	}

	private void sawVersion(String pool, long version) {
		this.highestVersions.merge(pool, version, Math::max);
	}

	/** Writes every live cooldown and disabled key this replica knows to a Redis that lost them. */
	private Mono<Void> republishLive(String pool) {
		return Flux.defer(() -> Flux.fromIterable(EpochRepublish.liveFacts(this.ledgers, this.clock.instant())))
			.filter((fact) -> fact.slot().pool().equals(pool))
			.concatMap(this::republish)
			.then();
	}

	private Mono<Result> republish(EpochRepublish.Fact fact) {
		Slot slot = fact.slot();
		SlotLedger ledger = fact.ledger();
		return this.scripts
			.republish(slot, fact.kind().script, Integer.toString(fact.status()), Long.toString(fact.untilMs()),
					Long.toString(fact.atMs()), fact.reason(), fact.knownAt())
			.doOnNext((result) -> {
				synchronized (ledger) {
					if (ledger.confirm(result.state(), result.version())) {
						this.view.update(slot.pool(), slot.keyId(), slot.scope(), (current) -> ledger.effective());
					}
				}
			});
	}

	private Mono<Snapshot> load(String pool) {
		return this.scripts.load(pool);
	}

	/**
	 * Takes the loaded state of one pool for every key it is newer than; keys of the pool
	 * absent from Redis are available.
	 */
	private void apply(Snapshot snapshot) {
		sawVersion(snapshot.pool(), snapshot.version());
		Set<Slot> present = new HashSet<>();
		for (Map.Entry<Slot, KeyState> loaded : snapshot.states().entrySet()) {
			Slot slot = loaded.getKey();
			present.add(slot);
			SlotLedger ledger = ledger(slot);
			synchronized (ledger) {
				if (ledger.confirm(loaded.getValue(), snapshot.version())) {
					this.view.update(slot.pool(), slot.keyId(), slot.scope(), (current) -> ledger.effective());
				}
			}
		}
		for (Map.Entry<Slot, SlotLedger> known : this.ledgers.entrySet()) {
			Slot slot = known.getKey();
			if (present.contains(slot) || !slot.pool().equals(snapshot.pool())) {
				continue;
			}
			SlotLedger ledger = known.getValue();
			synchronized (ledger) {
				KeyState gone = (ledger.confirmed.disabled() || ledger.confirmed.cooldownUntil() != null)
						? ledger.confirmed.reset() : ledger.confirmed;
				if (ledger.confirm(gone, snapshot.version())) {
					this.view.update(slot.pool(), slot.keyId(), slot.scope(), (current) -> ledger.effective());
				}
			}
		}
	}

	// ---- connectivity

	/** Lettuce reconnects by itself; a (re)connect is a reason to load, a disconnect to check. */
	private Disposable watchConnections() {
		if (!(this.connectionFactory instanceof LettuceConnectionFactory lettuce)) {
			return Disposables.single();
		}
		try {
			return lettuce.getRequiredNativeClient()
				.getResources()
				.eventBus()
				.get()
				.filter((event) -> event instanceof ConnectionActivatedEvent
						|| event instanceof ConnectionDeactivatedEvent)
				.subscribe((event) -> requestSync());
		}
		catch (RuntimeException ex) {
			logger.debug("Not watching Redis connection events", ex);
			return Disposables.single();
		}
	}

	private void markUp() {
		if (hasWaitingChanges()) {
			// made while this sync ran (it replayed what was waiting when it started): one more
			requestSync();
		}
		Connectivity before = this.connectivity.getAndSet(Connectivity.UP);
		if (before == Connectivity.DOWN) {
			logger.info("Redis is reachable again: key state reconciled with the other replicas");
		}
		else if (before == Connectivity.UNKNOWN) {
			logger.info("Sharing key state through Redis under prefix '{}'", this.settings.prefix());
		}
	}

	private void markDown(Throwable ex) {
		Connectivity before = this.connectivity.getAndSet(Connectivity.DOWN);
		if (before != Connectivity.DOWN) {
			logger.warn("Redis is unreachable ({}): key state is kept locally on this replica until Redis is back",
					describe(ex));
		}
		else {
			logger.debug("Redis still unreachable", ex);
		}
	}

	private static String describe(Throwable ex) {
		if (ex instanceof TimeoutException) {
			return "no answer in time";
		}
		Throwable cause = ex;
		while (cause.getCause() != null && cause.getCause() != cause) {
			cause = cause.getCause();
		}
		String message = String.valueOf(cause.getMessage());
		// Redis' own words name the problem, never the password it was given
		String hint = "";
		if (message.startsWith("WRONGPASS") || message.startsWith("NOAUTH")) {
			hint = "; check spring.data.redis.username and spring.data.redis.password";
		}
		else if (message.startsWith("NOPERM")) {
			hint = "; the Redis user needs the keys and channels under keypool.state.redis.prefix, EVAL and PUBLISH";
		}
		return cause.getClass().getSimpleName() + ": " + message + hint;
	}

	/**
	 * Whether Redis answered with an error, as opposed to not answering or not letting this
	 * replica in (a WRONGPASS while connecting comes wrapped in a connection failure: the change
	 * is then kept for the replay, like any outage).
	 */
	private static boolean redisAnswered(Throwable ex) {
		for (Throwable cause = ex; cause != null; cause = (cause.getCause() != cause) ? cause.getCause() : null) {
			if (cause instanceof RedisConnectionException) {
				return false;
			}
		}
		for (Throwable cause = ex; cause != null; cause = (cause.getCause() != cause) ? cause.getCause() : null) {
			if (cause instanceof RedisCommandExecutionException) {
				return true;
			}
		}
		return false;
	}

	// ---- internals

	private SlotLedger ledger(Slot slot) {
		return this.ledgers.computeIfAbsent(slot, (ignored) -> new SlotLedger());
	}

	private enum Connectivity {

		UNKNOWN, UP, DOWN

	}


}
