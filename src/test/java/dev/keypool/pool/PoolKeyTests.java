package dev.keypool.pool;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class PoolKeyTests {

	@ParameterizedTest(name = "{0} -> {1}")
	@CsvSource({ "sk-ant-api03-abcdefghijklmnopqrstuvwxyz, sk-a...wxyz", "0123456789ab, 012...9ab", "abcdefgh, ab...gh",
			"abcd, a...d", "abc, ..." })
	void hintShowsAtMostFourCharactersAtEachEndAndNeverHalfTheSecret(String secret, String hint) {
		assertThat(new PoolKey("k", secret).hint()).isEqualTo(hint);
	}

	@Test
	void toStringNeverShowsTheSecret() {
		PoolKey key = new PoolKey("primary", "sk-ant-very-secret-value-1234");

		assertThat(key.toString()).doesNotContain("very-secret").contains("primary");
	}

	@Test
	void blankSecretIsRejectedWithoutEchoingIt() {
		assertThatIllegalArgumentException().isThrownBy(() -> new PoolKey("primary", "  "))
			.withMessageContaining("primary");
	}

}
