package dev.keypool.provider.bedrock;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;

import dev.keypool.provider.AttemptRequest;
import dev.keypool.provider.Authorized;
import dev.keypool.provider.KeyAuthorizer;

/**
 * Signs one attempt with the key's AWS credentials, using the AWS SDK's own SigV4 signer
 * (service {@code bedrock}, the key's region), over exactly what goes out: method, host of the
 * route, path and query as sent, and the body's bytes.
 * <p>
 * Only what SigV4 requires is signed ({@code host}, {@code x-amz-date}, the session token):
 * the caller's other headers may still be touched by the gateway's header filters on the way
 * out, and a signed header that changed would make the provider refuse the key.
 */
final class SigV4Authorizer implements KeyAuthorizer {

	static final String SERVICE = "bedrock";

	private static final AwsV4HttpSigner SIGNER = AwsV4HttpSigner.create();

	private final AwsCredentialsIdentity identity;

	private final String region;

	private final Clock clock;

	SigV4Authorizer(String accessKeyId, String secretAccessKey, String sessionToken, String region, Clock clock) {
		this.identity = (sessionToken != null && !sessionToken.isBlank())
				? AwsSessionCredentialsIdentity.create(accessKeyId, secretAccessKey, sessionToken)
				: AwsCredentialsIdentity.create(accessKeyId, secretAccessKey);
		this.region = region;
		this.clock = clock;
	}

	@Override
	public CompletionStage<Authorized> authorize(AttemptRequest request) {
		try {
			return CompletableFuture.completedFuture(sign(request));
		}
		catch (RuntimeException ex) {
			return CompletableFuture.failedFuture(ex);
		}
	}

	private Authorized sign(AttemptRequest request) {
		SdkHttpRequest.Builder unsigned = SdkHttpRequest.builder()
			.method(SdkHttpMethod.fromValue(request.method()))
			.protocol(request.scheme())
			.host(request.host())
			.encodedPath((request.rawPath() == null || request.rawPath().isEmpty()) ? "/" : request.rawPath());
		if (request.port() > 0) {
			unsigned.port(request.port());
		}
		queryParameters(request.rawQuery()).forEach((name, values) -> values.forEach(
				(value) -> unsigned.appendRawQueryParameter(name, value)));
		SignedRequest signed = SIGNER.sign((sign) -> sign.identity(this.identity)
			.request(unsigned.build())
			.payload(request.body()::get)
			.putProperty(AwsV4FamilyHttpSigner.SERVICE_SIGNING_NAME, SERVICE)
			.putProperty(AwsV4HttpSigner.REGION_NAME, this.region)
			.putProperty(HttpSigner.SIGNING_CLOCK, this.clock));
		Map<String, String> headers = new LinkedHashMap<>();
		signed.request().forEachHeader((name, values) -> {
			if (!name.equalsIgnoreCase("host") && !values.isEmpty()) {
				headers.put(name.toLowerCase(Locale.ROOT), values.get(0));
			}
		});
		return new Authorized(request.rawPath(), headers);
	}

	/**
	 * The query's parameters, decoded: the signer encodes them again in canonical form. A
	 * {@code +} stays a plus (AWS encodes a space as {@code %20}).
	 */
	static Map<String, List<String>> queryParameters(String rawQuery) {
		Map<String, List<String>> parameters = new LinkedHashMap<>();
		if (rawQuery == null || rawQuery.isEmpty()) {
			return parameters;
		}
		for (String pair : rawQuery.split("&")) {
			if (pair.isEmpty()) {
				continue;
			}
			int equals = pair.indexOf('=');
			String name = decode((equals >= 0) ? pair.substring(0, equals) : pair);
			String value = (equals >= 0) ? decode(pair.substring(equals + 1)) : "";
			parameters.computeIfAbsent(name, (n) -> new ArrayList<>()).add(value);
		}
		return parameters;
	}

	private static String decode(String encoded) {
		return URLDecoder.decode(encoded.replace("+", "%2B"), StandardCharsets.UTF_8);
	}

}
