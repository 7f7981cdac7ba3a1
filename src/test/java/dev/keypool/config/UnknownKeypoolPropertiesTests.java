package dev.keypool.config;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import org.springframework.boot.context.properties.source.ConfigurationPropertyName;

import static org.assertj.core.api.Assertions.assertThat;

class UnknownKeypoolPropertiesTests {

	@ParameterizedTest(name = "{0}")
	@CsvSource(delimiter = '|', value = { "keypool.pools.anthropic.byok", "keypool.pools.any-name.keys[3].secret",
			"keypool.pools[with.dots].max-wait", "keypool.pools.a.cooldown-on[0]", "keypool.clients[0].limits.tokens-per-day",
			"keypool.state.redis.resync-interval", "keypool.reload.interval", "keypool.admin.allow-unauthenticated-writes",
			"keypool.demo.primary-secret", "keypool.pools.a.keys[0].secret-access-key", "keypool.maxRequestBody",
			"keypool.pools.a.stickysessions" })
	void everyNameOfTheRecordsIsKnownWhateverThePoolNameAndIndex(String name) {
		assertThat(UnknownKeypoolProperties.problem(ConfigurationPropertyName.adapt(name, '.'))).isNull();
	}

	@ParameterizedTest(name = "{0}")
	@CsvSource(delimiter = '|', value = {
			"keypool.pools.anthropic.byk | keypool.pools.anthropic.byk: unknown property (did you mean keypool.pools.anthropic.byok?)",
			"keypool.pools.a.base-url | keypool.pools.a.base-url: unknown property",
			"keypool.admin.tokn | keypool.admin.tokn: unknown property (did you mean keypool.admin.token?)",
			"keypool.pools.a.keys[0].secrte | keypool.pools.a.keys[0].secrte: unknown property (did you mean keypool.pools.a.keys[0].secret?)",
			"keypool.max-request-bdy | keypool.max-request-bdy: unknown property (did you mean keypool.max-request-body?)",
			"keypool.pools.a.keys.id | keypool.pools.a.keys.id: unknown property (keypool.pools.a.keys is a list: entries are written [0], [1], ...)",
			"keypool.pools.a.byok.value | keypool.pools.a.byok.value: unknown property (keypool.pools.a.byok takes a value, not properties)" })
	void anUnknownNameIsNamedWithTheClosestKnownOne(String name, String problem) {
		assertThat(UnknownKeypoolProperties.problem(ConfigurationPropertyName.of(name))).isEqualTo(problem);
	}

}
