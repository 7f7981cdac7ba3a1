package dev.keypool.pool;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every configured pool, by name, in configuration order.
 */
public final class KeyPools {

	private final Map<String, KeyPool> byName;

	public KeyPools(List<KeyPool> pools) {
		Map<String, KeyPool> map = new LinkedHashMap<>();
		for (KeyPool pool : pools) {
			if (map.putIfAbsent(pool.name(), pool) != null) {
				throw new IllegalArgumentException("two pools named '" + pool.name() + "'");
			}
		}
		this.byName = Collections.unmodifiableMap(map);
	}

	public Optional<KeyPool> get(String name) {
		return Optional.ofNullable(this.byName.get(name));
	}

	public Collection<KeyPool> all() {
		return this.byName.values();
	}

	public void addListener(KeyPoolListener listener) {
		for (KeyPool pool : this.byName.values()) {
			pool.addListener(listener);
		}
	}

}
