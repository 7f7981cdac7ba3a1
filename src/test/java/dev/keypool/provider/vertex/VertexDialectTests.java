package dev.keypool.provider.vertex;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import dev.keypool.pool.ModelClasses;
import dev.keypool.provider.ErrorKind;
import dev.keypool.provider.KeyCredentials;

import static org.assertj.core.api.Assertions.assertThat;

class VertexDialectTests {

	private final VertexDialect dialect = new VertexDialect(Clock.systemUTC(), Runnable::run);

	@ParameterizedTest
	@CsvSource({
			"/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-opus-4-7@20260101:rawPredict, opus",
			"/v1/projects/p/locations/global/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict, sonnet",
			"/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-3-5-haiku@20241022:rawPredict, haiku" })
	void theModelClassComesFromTheModelInThePath(String path, String modelClass) {
		assertThat(ModelClasses.classOf(this.dialect.modelFromPath(path))).isEqualTo(modelClass);
	}

	@ParameterizedTest
	@CsvSource({
			"/v1/projects/callers/locations/us-east5/publishers/anthropic/models/claude-opus-4-7:rawPredict, /v1/projects/mine/locations/europe-west1/publishers/anthropic/models/claude-opus-4-7:rawPredict",
			"/v1beta1/projects/callers/locations/global/publishers/anthropic/models/m:streamRawPredict, /v1beta1/projects/mine/locations/europe-west1/publishers/anthropic/models/m:streamRawPredict",
			"/v1/other/path, /v1/other/path" })
	void pooledPathsGoToTheKeysOwnProjectAndRegion(String callerPath, String keyPath) {
		VertexAuthorizer authorizer = new VertexAuthorizer(null, "mine", "europe-west1");

		assertThat(authorizer.ownPath(callerPath)).isEqualTo(keyPath);
	}

	@Test
	void gatewayErrorsAreGoogleShaped() {
		assertThat(new String(this.dialect.errorBody(429, ErrorKind.RATE_LIMIT, "all keys busy"), StandardCharsets.UTF_8))
			.isEqualTo("{\"error\":{\"code\":429,\"message\":\"all keys busy\",\"status\":\"RESOURCE_EXHAUSTED\"}}");
		assertThat(new String(this.dialect.errorBody(502, ErrorKind.UPSTREAM, "x"), StandardCharsets.UTF_8))
			.isEqualTo("{\"error\":{\"code\":502,\"message\":\"x\",\"status\":\"INTERNAL\"}}");
		assertThat(new String(this.dialect.errorBody(408, ErrorKind.REQUEST_TIMEOUT, "slow"), StandardCharsets.UTF_8))
			.isEqualTo("{\"error\":{\"code\":408,\"message\":\"slow\",\"status\":\"DEADLINE_EXCEEDED\"}}");
	}

	@Test
	void aBrokenStreamEndsWithAnthropicsErrorEvent() {
		assertThat(new String(this.dialect.streamErrorEvent("gone"), StandardCharsets.UTF_8))
			.startsWith("event: error\ndata: {\"type\":\"error\"");
	}

	@Test
	void credentialsAreCheckedNamingThePropertyNeverTheValue() {
		List<String> problems = this.dialect
			.credentialProblems(new KeyCredentials("k", null, null, null, null, null, "{\"not\":\"a key\"}", null));

		assertThat(problems).containsExactly(
				"credentials: is not a service-account JSON key (type service_account, client_email, private_key, token_uri)",
				"project: must name the Google Cloud project the key serves",
				"region: must name the Vertex AI location, such as us-east5 or global");
	}

}
