package dev.keypool.provider;

import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.keypool.provider.bedrock.BedrockDialect;

/**
 * The dialects this build knows, by name.
 */
public final class ProviderDialects {

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

	/** Every dialect of this build; {@code clock} dates signatures and judges token expiry. */
	public static ProviderDialects builtIn(Clock clock) {
		return new ProviderDialects(List.of(new AnthropicDialect(), new BedrockDialect(clock)));
	}

	public Optional<ProviderDialect> get(String name) {
		return Optional.ofNullable(this.byName.get(name));
	}

	public Set<String> names() {
		return this.byName.keySet();
	}

}
