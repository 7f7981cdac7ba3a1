package dev.keypool.gateway;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

class RequestEdgesTests {

	@ParameterizedTest
	@ValueSource(strings = { "/v1/messages/../files", "/v1/messages/..", "/v1/./messages", "/v1/messages/%2e%2e/files",
			"/v1/messages/%2E%2E/files", "/v1/messages/.%2e/files", "/v1/messages/%2e./files", "/v1/messages/..;/files",
			"/v1/messages/..;x=1/files", "/v1/messages/.;/files", "/v1/%2e/messages", "/.." })
	void dotSegmentsAreRefusedRawEncodedOrWithParameters(String rawPath) {
		assertThat(RequestEdges.badPath(rawPath)).isEqualTo("'.' and '..' path segments are not allowed");
	}

	@ParameterizedTest
	@ValueSource(strings = { "/v1/messages/..%2Ffiles", "/v1/messages/..%2ffiles", "/v1/messages%2F..%2Ffiles",
			"/v1/messages/..%5Cfiles", "/v1/messages/..%5cfiles", "/v1/messages\\..\\files" })
	void encodedSlashesAndBackslashesAreRefused(String rawPath) {
		assertThat(RequestEdges.badPath(rawPath)).isEqualTo("encoded slashes and backslashes are not allowed in the path");
	}

	@ParameterizedTest
	@ValueSource(strings = { "/v1/messages", "/v1/messages/", "/v1/messages/count_tokens", "/v1/models",
			"/v1/models/claude-opus-4-7", "/v1/files/file_01...", "/v1/a.b/c", "/v1/.../x", "/v1/.well-known",
			"/v1/messages/%2e%2e%2e", "/v1//messages", "/" })
	void ordinaryPathsPass(String rawPath) {
		assertThat(RequestEdges.badPath(rawPath)).isNull();
	}

}
