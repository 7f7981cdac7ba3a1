package dev.keypool.provider;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

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

	public static ProviderDialects builtIn() {
		return new ProviderDialects(List.of(new AnthropicDialect()));
	}

	public Optional<ProviderDialect> get(String name) {
		return Optional.ofNullable(this.byName.get(name));
	}

	public Set<String> names() {
		return this.byName.keySet();
	}

}
