package dev.keypool.provider;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;

import dev.keypool.provider.bedrock.BedrockDialect;
import dev.keypool.provider.vertex.VertexDialect;

/**
 * The dialects this build knows, by name.
 */
public final class ProviderDialects {

	/** Daemon threads, created when first needed and ended when idle. */
	private static final Executor TOKEN_EXCHANGES = Executors.newCachedThreadPool((task) -> {
		Thread thread = new Thread(task, "keypool-token-exchange");
		thread.setDaemon(true);
		return thread;
	});

	private final Map<String, ProviderDialect> byName = new LinkedHashMap<>();

	public ProviderDialects(List<ProviderDialect> dialects) {
		for (ProviderDialect dialect : dialects) {
			this.byName.put(dialect.name(), dialect);
		}
	}

	/** Every dialect of this build, signing with the system clock. */
	public static ProviderDialects builtIn() {
		return builtIn(Clock.systemUTC());
	}

	/** Every dialect of this build; token exchanges run on threads of their own. */
	public static ProviderDialects builtIn(Clock clock) {
		return builtIn(clock, TOKEN_EXCHANGES);
	}

	/**
	 * Every dialect of this build; {@code clock} dates signatures and judges token expiry,
	 * {@code tokenExchanges} runs the blocking token exchanges (never an event loop).
	 */
	public static ProviderDialects builtIn(Clock clock, Executor tokenExchanges) {
		return new ProviderDialects(
				List.of(new AnthropicDialect(), new BedrockDialect(clock), new VertexDialect(clock, tokenExchanges)));
	}

	public Optional<ProviderDialect> get(String name) {
		return Optional.ofNullable(this.byName.get(name));
	}

	public Set<String> names() {
		return this.byName.keySet();
	}

}
