package dev.keypool.pool;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The pool work every pooled request does before its first upstream call: a fresh walker
 * and the state reads it makes. Run with {@code -prof gc}: {@code gc.alloc.rate.norm} must
 * not grow with the number of keys checked (compare {@link #walkerAllAvailable}, one check,
 * with {@link #walkerAllCoolingDown}, three checks).
 * <p>
 * The clock is the system clock, as in production, so the cost of reading it is included.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class KeyPoolBenchmark {

	private KeyPool allAvailable;

	private KeyPool firstCoolingDown;

	private KeyPool allCoolingDown;

	private PoolKey primary;

	private KeyPool scoped;

	private PoolKey scopedPrimary;

	private final Map<String, String> rateLimitHeaders = new HashMap<>();

	@Setup
	public void setUp() {
		this.allAvailable = pool("available");
		this.firstCoolingDown = pool("first-cooling");
		this.firstCoolingDown.coolDown(this.firstCoolingDown.keys().get(0), Duration.ofHours(1), 429);
		this.allCoolingDown = pool("all-cooling");
		for (PoolKey key : this.allCoolingDown.keys()) {
			this.allCoolingDown.coolDown(key, Duration.ofHours(1), 429);
		}
		this.primary = this.allAvailable.keys().get(0);
		this.scoped = pool("scoped");
		this.scopedPrimary = this.scoped.keys().get(0);
		this.scoped.coolDown(this.scopedPrimary, "opus", Duration.ofHours(1), 429);
		// as Anthropic sends it: whole seconds, UTC
		String reset = java.time.Instant.now().plus(Duration.ofHours(1)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
		for (RateLimitResource resource : RateLimitResource.values()) {
			this.rateLimitHeaders.put(resource.limitHeader(), "400000");
			this.rateLimitHeaders.put(resource.remainingHeader(), "399000");
			this.rateLimitHeaders.put(resource.resetHeader(), reset);
		}
	}

	private static KeyPool pool(String name) {
		List<PoolKey> keys = List.of(new PoolKey("primary", "sk-bench-primary-0001"),
				new PoolKey("secondary", "sk-bench-secondary-0002"), new PoolKey("tertiary", "sk-bench-tertiary-0003"));
		return new KeyPool(name, "anthropic", keys, FailoverPolicy.DEFAULT, new InMemoryKeyStateStore(),
				Clock.systemUTC());
	}

	/** The common case: a fresh walker hands out the primary key (one state check). */
	@Benchmark
	public PoolKey walkerAllAvailable() {
		return this.allAvailable.walker().next();
	}

	/** The primary is rate-limited: the walker skips it and hands out the second key (two checks). */
	@Benchmark
	public PoolKey walkerFirstCoolingDown() {
		return this.firstCoolingDown.walker().next();
	}

	/** Every key is rate-limited: three checks, no key (the exhaustion path starts here). */
	@Benchmark
	public PoolKey walkerAllCoolingDown() {
		return this.allCoolingDown.walker().next();
	}

	/**
	 * What each pooled response adds: the twelve rate-limit headers read and recorded for the
	 * (key, class), judged for a proactive mark (none here).
	 */
	@Benchmark
	public boolean rateLimitHeaders() {
		return this.scoped.observe(this.primary, "opus", this.rateLimitHeaders::get);
	}

	/**
	 * The pool side of one pooled Messages API call, from the model id to the recorded limits:
	 * the request's model id resolved to its tracked class (the scope), then the response's
	 * rate-limit headers parsed and recorded for that (key, class) and judged for a proactive
	 * mark (none here).
	 */
	@Benchmark
	public boolean rateLimitHeadersWithScopeLookup() {
		return this.scoped.observe(this.primary, this.scoped.modelClassOf("claude-opus-4-7"), this.rateLimitHeaders::get);
	}

	/** A walk for a model class whose primary is limited for that class: two scoped checks. */
	@Benchmark
	public PoolKey walkerScopedFirstCoolingDown() {
		return this.scoped.walker("opus", null).next();
	}

	/** One state read, as the actuator and each metrics scrape do it: stored facts, derived status. */
	@Benchmark
	public KeyStatus stateRead() {
		return this.allAvailable.status(this.primary);
	}

	/** The same read for a key that is cooling down for one model class only. */
	@Benchmark
	public KeyStatus stateReadScoped() {
		return this.scoped.status(this.scopedPrimary);
	}

}
