package dev.keypool.config.reload;

import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.keypool.config.KeypoolProperties.Pool;

import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

class KeypoolReloaderTests {

	@ParameterizedTest(name = "{0}={1}: keys-only change {2}")
	@CsvSource({ "keys[0].secret, sk-other, true", "keys[1].id, k9, true", "strategy, round-robin, false",
			"default-cooldown, 30s, false", "byok, false, false", "keys[0].group, org-a, true" })
	void onlyAChangeOfTheKeysKeepsThePoolsScheduling(String property, String value, boolean keysOnly) {
		Map<String, String> base = Map.of("keys[0].id", "k0", "keys[0].secret", "sk-zero", "keys[1].id", "k1",
				"keys[1].secret", "sk-one");
		Map<String, String> changed = new java.util.HashMap<>(base);
		changed.put(property, value);

		assertThat(KeypoolReloader.sameExceptKeys(pool(base), pool(changed))).isEqualTo(keysOnly);
	}

	private static Pool pool(Map<String, String> properties) {
		return new Binder(new MapConfigurationPropertySource(properties)).bindOrCreate("", Pool.class);
	}

}
