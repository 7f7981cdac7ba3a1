package dev.keypool.pool;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class StateIdentityTests {

	@Test
	void theSameKeyHasTheSameIdentityEverywhere() {
		assertThat(StateIdentity.of("p", new PoolKey("k0", "sk-secret-one")))
			.isEqualTo(StateIdentity.of("p", new PoolKey("k0", "sk-secret-one")));
	}

	@Test
	void aNewSecretGivesTheKeyANewIdentity() {
		assertThat(StateIdentity.of("p", new PoolKey("k0", "sk-secret-one")))
			.isNotEqualTo(StateIdentity.of("p", new PoolKey("k0", "sk-secret-two")));
	}

	@Test
	void theIdentityIsTheKeyIdAndAShortFingerprintNeverTheSecret() {
		String identity = StateIdentity.of("p", new PoolKey("k0", "sk-secret-one"));

		assertThat(identity).matches("k0#[0-9a-f]{12}").doesNotContain("secret");
	}

	@Test
	void theFingerprintIsSaltedWithPoolAndKeyId() {
		String fingerprint = StateIdentity.of("p", new PoolKey("k0", "sk-same")).substring(3);

		assertThat(StateIdentity.of("p", new PoolKey("k1", "sk-same"))).doesNotEndWith(fingerprint);
		assertThat(StateIdentity.of("q", new PoolKey("k0", "sk-same"))).doesNotEndWith(fingerprint);
	}

	@Test
	void thePoolStoresAKeysFactsUnderItsIdentity() {
		InMemoryKeyStateStore store = new InMemoryKeyStateStore();
		PoolKey old = new PoolKey("k0", "sk-old");
		KeyPool before = new KeyPool("p", "anthropic", java.util.List.of(old), FailoverPolicy.DEFAULT, store,
				java.time.Clock.systemUTC());
		before.disable(old, 401);

		PoolKey replaced = new PoolKey("k0", "sk-new");
		KeyPool after = new KeyPool("p", "anthropic", java.util.List.of(replaced), FailoverPolicy.DEFAULT, store,
				java.time.Clock.systemUTC());
		KeyPool same = new KeyPool("p", "anthropic", java.util.List.of(new PoolKey("k0", "sk-old")),
				FailoverPolicy.DEFAULT, store, java.time.Clock.systemUTC());

		assertThat(after.status(replaced)).isEqualTo(KeyStatus.AVAILABLE);
		assertThat(same.status(same.keys().get(0))).isEqualTo(KeyStatus.DISABLED);
	}

}
