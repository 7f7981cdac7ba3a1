package dev.keypool.provider.bedrock;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import software.amazon.eventstream.Message;
import software.amazon.eventstream.MessageDecoder;

import dev.keypool.pool.FailoverPolicy;
import dev.keypool.pool.ModelClasses;
import dev.keypool.pool.Verdict;
import dev.keypool.provider.ErrorKind;
import dev.keypool.provider.KeyCredentials;

import static org.assertj.core.api.Assertions.assertThat;

class BedrockDialectTests {

	private final BedrockDialect dialect = new BedrockDialect(Clock.systemUTC());

	@ParameterizedTest
	@CsvSource(nullValues = "none", value = { "429, ThrottlingException, COOL_DOWN", "429, none, COOL_DOWN",
			"400, ThrottlingException, COOL_DOWN",
			"403, UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/, DISABLE",
			"403, InvalidSignatureException, DISABLE", "403, ExpiredTokenException, DISABLE", "401, none, DISABLE",
			"403, none, DISABLE", "403, AccessDeniedException, RELAY", "400, ValidationException, RELAY",
			"500, InternalServerException, RELAY", "503, ServiceUnavailableException, RELAY", "200, none, SUCCESS" })
	void statusAndErrorTypeDecideWhatHappensToTheKey(int status, String errorType, Verdict expected) {
		Map<String, String> headers = (errorType != null) ? Map.of(BedrockDialect.ERROR_TYPE_HEADER, errorType)
				: Map.of();

		assertThat(this.dialect.classify(FailoverPolicy.DEFAULT, status, headers::get)).isEqualTo(expected);
	}

	@ParameterizedTest
	@CsvSource({ "/model/anthropic.claude-opus-4-7-v1:0/invoke, opus",
			"/model/anthropic.claude-opus-4-7-v1%3A0/invoke-with-response-stream, opus",
			"/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/converse, sonnet",
			"/model/global.anthropic.claude-haiku-4-5-20251001-v1:0/converse-stream, haiku",
			"/model/anthropic.claude-3-5-haiku-20241022-v1:0/invoke, haiku",
			"/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-opus-4-7-v1%3A0/invoke, opus",
			"/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fa1b2c3/invoke, a1b2c3",
			"/model/meta.llama3-70b-instruct-v1:0/invoke, meta.llama3-70b-instruct-v1:0" })
	void theModelClassComesFromTheModelIdInThePath(String path, String modelClass) {
		assertThat(ModelClasses.classOf(this.dialect.modelFromPath(path))).isEqualTo(modelClass);
	}

	@ParameterizedTest
	@CsvSource({ "/inference-profiles", "/v1/messages", "/model/", "/model/%zz/invoke" })
	void pathsWithoutAModelIdHaveNoModel(String path) {
		assertThat(this.dialect.modelFromPath(path)).isNull();
	}

	@Test
	void gatewayErrorsAreBedrockShaped() {
		assertThat(new String(this.dialect.errorBody(429, ErrorKind.RATE_LIMIT, "all \"keys\" busy"),
				StandardCharsets.UTF_8))
			.isEqualTo("{\"message\":\"all \\\"keys\\\" busy\"}");
		assertThat(this.dialect.errorHeaders(ErrorKind.RATE_LIMIT))
			.containsExactly(Map.entry("x-amzn-ErrorType", "ThrottlingException"));
		// a request body too slow to arrive: a type the AWS SDKs retry
		assertThat(this.dialect.errorHeaders(ErrorKind.REQUEST_TIMEOUT))
			.containsExactly(Map.entry("x-amzn-ErrorType", "RequestTimeoutException"));
	}

	@Test
	void theStreamErrorIsOneWellFormedExceptionMessage() {
		List<Message> decoded = new ArrayList<>();
		new MessageDecoder(decoded::add).feed(this.dialect.streamErrorEvent("upstream gone"));

		assertThat(decoded).singleElement().satisfies((message) -> {
			assertThat(message.getHeaders().get(":message-type").getString()).isEqualTo("exception");
			assertThat(message.getHeaders().get(":exception-type").getString()).isEqualTo("internalServerException");
			assertThat(new String(message.getPayload(), StandardCharsets.UTF_8))
				.isEqualTo("{\"message\":\"upstream gone\"}");
		});
	}

	@Test
	void aSigV4AuthorizationIsTheCallersOwnCredential() {
		Map<String, String> signed = Map.of("authorization",
				"AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=ab");

		assertThat(this.dialect.carriesOwnCredential(signed::get)).isTrue();
		assertThat(this.dialect.carriesOwnCredential(Map.of("authorization", "Bearer token")::get)).isFalse();
	}

	@ParameterizedTest
	@CsvSource(nullValues = "none", value = {
			"none, AKIA1, secret1, none, us-east-1, ''",
			"none, AKIA1, secret1, token, us-east-1, ''",
			"api-key, none, none, none, none, ''",
			"none, AKIA1, secret1, none, none, 'region: must name the AWS region the key signs for, such as us-east-1'",
			"none, AKIA1, none, none, us-east-1, secret-access-key: must not be blank",
			"none, none, secret1, none, us-east-1, access-key-id: must not be blank",
			"api-key, AKIA1, secret1, none, us-east-1, 'secret: a Bedrock key is either a Bedrock API key (secret) or AWS credentials (access-key-id, secret-access-key), not both'",
			"api-key, none, none, token, none, session-token: only goes with access-key-id and secret-access-key",
			"none, AKIA1, secret1, none, US East, region: is not an AWS region name such as us-east-1" })
	void credentialsAreCheckedNamingThePropertyNeverTheValue(String secret, String accessKeyId,
			String secretAccessKey, String sessionToken, String region, String problem) {
		List<String> problems = this.dialect.credentialProblems(
				new KeyCredentials("k", secret, accessKeyId, secretAccessKey, sessionToken, region, null, null));

		if (problem.isEmpty()) {
			assertThat(problems).isEmpty();
		}
		else {
			assertThat(problems).containsExactly(problem);
		}
	}

	@Test
	void operatorsSeeTheAccessKeyIdNotTheSecret() {
		KeyCredentials aws = new KeyCredentials("k", null, "AKIAEXAMPLE123456789", "wJalrXUtnFEMI/K7MDENG", null,
				"us-east-1", null, null);

		assertThat(this.dialect.hintSource(aws)).isEqualTo("AKIAEXAMPLE123456789");
		assertThat(this.dialect.fingerprint(aws)).contains("wJalrXUtnFEMI/K7MDENG");
	}

}
