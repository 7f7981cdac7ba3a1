package dev.keypool.gateway;

import java.time.Clock;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.keypool.pool.FailoverPolicy;
import dev.keypool.pool.InMemoryKeyStateStore;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.PoolKey;
import dev.keypool.provider.KeyAuthorizer;
import dev.keypool.provider.ProviderDialects;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A reload keeps the authorizer (and with it a Vertex key's cached access token) of a key
 * whose credentials did not change, and only of such a key.
 */
class PoolBindingTests {

	private final InMemoryKeyStateStore store = new InMemoryKeyStateStore();

	private final KeyAuthorizer k0Authorizer = KeyAuthorizer.header("authorization", "Bearer t0");

	private final PoolBinding before = new PoolBinding(pool(new PoolKey("k0", "credentials-0")),
			ProviderDialects.builtIn().get("anthropic").orElseThrow(), false, false, Map.of("k0", this.k0Authorizer));

	@Test
	void anUnchangedKeyKeepsItsAuthorizer() {
		KeyPool next = pool(new PoolKey("k0", "credentials-0"), new PoolKey("k1", "credentials-1"));

		assertThat(this.before.unchangedAuthorizer(next, "k0")).isSameAs(this.k0Authorizer);
		assertThat(this.before.unchangedAuthorizer(next, "k1")).as("an added key").isNull();
	}

	@Test
	void aKeyWithNewCredentialsGetsANewAuthorizer() {
		KeyPool next = pool(new PoolKey("k0", "credentials-0-rotated"));

		assertThat(this.before.unchangedAuthorizer(next, "k0")).isNull();
	}

	private KeyPool pool(PoolKey... keys) {
		return new KeyPool("p", "anthropic", List.of(keys), FailoverPolicy.DEFAULT, this.store, Clock.systemUTC());
	}

}
