package dev.keypool.config.reload;

import java.util.Collection;
import java.util.List;

import dev.keypool.actuate.KeyPoolsWriteGuard.AdminAccess;
import dev.keypool.config.KeypoolConfiguration;
import dev.keypool.config.KeypoolProperties;
import dev.keypool.gateway.PoolBindings;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.provider.ProviderDialects;

/**
 * The {@code keypool.*} configuration in force, swapped whole by a reload. Readers take what
 * they need on each use: the gateway {@link #bindings()} once per request, the write guard
 * {@link #adminAccess()} once per write, actuator, health and metrics the live
 * {@link KeyPools}. The {@code KeypoolProperties} bean itself keeps the startup values.
 */
public final class LiveKeypool {

	private final KeyPools pools;

	private final ProviderDialects dialects;

	private volatile Snapshot current;

	public LiveKeypool(KeypoolProperties properties, KeyPools pools, ProviderDialects dialects) {
		this.pools = pools;
		this.dialects = dialects;
		this.current = snapshot(properties, pools.all());
	}

	/** The configuration in force. */
	public KeypoolProperties properties() {
		return this.current.properties();
	}

	/** The pools and client tokens the {@code KeyFailover} filter serves now. */
	public PoolBindings bindings() {
		return this.current.bindings();
	}

	/** The admin token in force (as a digest) for management writes. */
	public AdminAccess adminAccess() {
		return this.current.adminAccess();
	}

	/** The live pools, also read by actuator, health and metrics. */
	public KeyPools pools() {
		return this.pools;
	}

	/** Puts a checked configuration in force: first what the filter reads, then the pools. */
	void replace(KeypoolProperties properties, List<KeyPool> pools) {
		this.current = snapshot(properties, pools);
		this.pools.replace(pools);
	}

	private Snapshot snapshot(KeypoolProperties properties, Collection<KeyPool> pools) {
		KeypoolProperties.Admin admin = properties.admin();
		PoolBindings previous = (this.current != null) ? this.current.bindings() : null;
		return new Snapshot(properties, KeypoolConfiguration.poolBindings(properties, pools, this.dialects, previous),
				AdminAccess.of(admin.token(), admin.allowUnauthenticatedWrites()));
	}

	private record Snapshot(KeypoolProperties properties, PoolBindings bindings, AdminAccess adminAccess) {
	}

}
