package dev.keypool.pool;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Every configured pool, by name, in configuration order: the live registry that the gateway,
 * actuator, health and metrics read on each use.
 * <p>
 * A reload {@linkplain #replace replaces} the whole set at once (one volatile reference to an
 * immutable map), so a reader sees one configuration, never half of two. A request keeps the
 * {@link KeyPool} it started with until it ends.
 */
public final class KeyPools {

	private volatile Map<String, KeyPool> byName;

	private final List<KeyPoolListener> listeners = new CopyOnWriteArrayList<>();

	private final List<Runnable> replacementListeners = new CopyOnWriteArrayList<>();

	public KeyPools(List<KeyPool> pools) {
		this.byName = byName(pools);
	}

	private static Map<String, KeyPool> byName(List<KeyPool> pools) {
		Map<String, KeyPool> map = new LinkedHashMap<>();
		for (KeyPool pool : pools) {
			if (map.putIfAbsent(pool.name(), pool) != null) {
				throw new IllegalArgumentException("two pools named '" + pool.name() + "'");
			}
		}
		return Collections.unmodifiableMap(map);
	}

	public Optional<KeyPool> get(String name) {
		return Optional.ofNullable(this.byName.get(name));
	}

	/** The pools of one configuration; later replacements do not change the returned collection. */
	public Collection<KeyPool> all() {
		return this.byName.values();
	}

	/** Listens to every pool, the ones a later {@link #replace} brings included. */
	public synchronized void addListener(KeyPoolListener listener) {
		this.listeners.add(listener);
		for (KeyPool pool : this.byName.values()) {
			pool.addListener(listener);
		}
	}

	/** Runs after each {@link #replace}, on the thread that replaced the pools. */
	public void onReplaced(Runnable listener) {
		this.replacementListeners.add(listener);
	}

	/**
	 * Swaps in a new set of pools. Pools that were there before may be passed again as they
	 * are; new instances get every listener added so far.
	 */
	public void replace(List<KeyPool> pools) {
		synchronized (this) {
			Map<String, KeyPool> next = byName(pools);
			for (KeyPool pool : next.values()) {
				if (this.byName.get(pool.name()) != pool) {
					this.listeners.forEach(pool::addListener);
				}
			}
			this.byName = next;
		}
		this.replacementListeners.forEach(Runnable::run);
	}

}
