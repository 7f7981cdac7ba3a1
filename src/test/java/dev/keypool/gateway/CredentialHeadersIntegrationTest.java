package dev.keypool.gateway;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.support.FakeBedrock;
import dev.keypool.support.FakeVertex;
import dev.keypool.support.GatewayTestProperties;
import dev.keypool.support.RawHttp;
import dev.keypool.support.RawHttp.Response;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * No header a caller controls removes or changes the credential a pooled request goes out
 * with, for any provider: names listed in {@code Connection} are hop-by-hop and dropped from
 * the caller's request before the key is set, so the gateway's own hop-by-hop filter finds
 * nothing of the key's to drop. Sent over raw sockets, as a client library would not.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class CredentialHeadersIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-hop-0001";

	static final String SECRET_0 = "sk-hop-pool-secret-0000";

	static final String SECRET_1 = "sk-hop-pool-secret-0001";

	static final String AKID = "ASIAFAKEHOPACCOUNT01";

	static final String AWS_SECRET = "secret-hop-0123456789abcdef";

	static final String SESSION_TOKEN = "session-token-hop-01";

	static final String BEDROCK_API_KEY = "bedrock-hop-api-key-0123456789";

	static final String VERTEX_PATH = "/v1/projects/callers/locations/us-east5/publishers/anthropic/models/"
			+ "claude-opus-4-7@20260101:rawPredict";

	static final String SA = "hop@project-hop.iam.gserviceaccount.com";

	/** Answers 200 to a pool secret in {@code x-api-key} and 401 to anything else, as the API does. */
	static final KeyChecking anthropic = new KeyChecking();

	static final FakeBedrock bedrock = new FakeBedrock("us-east-1")
		.sessionCredential(AKID, AWS_SECRET, SESSION_TOKEN)
		.apiKey(BEDROCK_API_KEY);

	static final FakeVertex vertex = new FakeVertex();

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		String sigv4 = "keypool.pools.bedrock.keys[0].";
		String vertexKey = "keypool.pools.vertex.keys[0].";
		GatewayTestProperties.on(registry)
			.client("team-a", CLIENT_TOKEN)
			.pool("anthropic", "k0", SECRET_0, "k1", SECRET_1)
			.pool("stripped", "s0", SECRET_0, "s1", SECRET_1)
			.set("keypool.pools.bedrock.provider", "bedrock")
			.set(sigv4 + "id", "sigv4")
			.set(sigv4 + "access-key-id", AKID)
			.set(sigv4 + "secret-access-key", AWS_SECRET)
			.set(sigv4 + "session-token", SESSION_TOKEN)
			.set(sigv4 + "region", "us-east-1")
			.set("keypool.pools.bedrock.keys[1].id", "api")
			.set("keypool.pools.bedrock.keys[1].secret", BEDROCK_API_KEY)
			.set("keypool.pools.vertex.provider", "vertex")
			.set(vertexKey + "id", "sa")
			.set(vertexKey + "credentials", vertex.serviceAccount(SA))
			.set(vertexKey + "project", "project-hop")
			.set(vertexKey + "region", "us-east5")
			.route("anthropic", anthropic::url, "/v1/messages/**", "KeyFailover=anthropic")
			.route("stripped", anthropic::url, "/stripped/**", "StripPrefix=1", "KeyFailover=stripped",
					"RemoveRequestHeader=x-api-key")
			.route("bedrock", bedrock::url, "/model/**", "KeyFailover=bedrock")
			.route("vertex", vertex::url, "/v1/projects/**", "KeyFailover=vertex");
	}

	@LocalServerPort
	int port;

	@LocalManagementPort
	int managementPort;

	@Autowired
	KeyPools pools;

	@BeforeEach
	void reset() {
		anthropic.received.clear();
		bedrock.reset();
		vertex.reset();
		for (KeyPool pool : this.pools.all()) {
			pool.keys().forEach(pool::reset);
		}
	}

	@AfterAll
	static void stop() {
		anthropic.server.disposeNow();
		bedrock.close();
		vertex.close();
	}

	@ParameterizedTest
	@ValueSource(strings = { "x-api-key", "X-Api-Key", "keep-alive, x-api-key", "authorization, x-api-key, content-type" })
	void anAnthropicPoolKeyListedInConnectionStillGoesOut(String connection) {
		Response response = RawHttp.exchange(this.port, "POST /v1/messages HTTP/1.1\r\nHost: x\r\n"
				+ "Content-Type: application/json\r\nx-api-key: " + CLIENT_TOKEN + "\r\nConnection: " + connection,
				"{\"model\":\"claude-haiku-4-5\"}".getBytes(StandardCharsets.UTF_8));

		assertThat(response.status()).isEqualTo(200);
		assertThat(response.headers()).containsEntry("x-keypool-key", "k0");
		assertThat(anthropic.received).singleElement()
			.satisfies((headers) -> assertThat(headers.getAll("x-api-key")).containsExactly(SECRET_0));
		assertEveryKeyAvailable("anthropic");
	}

	@ParameterizedTest
	@ValueSource(strings = { "authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256",
			"Authorization, X-Amz-Date, x-amz-security-token" })
	void aSignedBedrockRequestKeepsItsSignatureWhateverConnectionLists(String connection) {
		Response response = RawHttp.exchange(this.port, "POST /model/anthropic.claude-opus-4-7-v1:0/invoke HTTP/1.1\r\n"
				+ "Host: x\r\nContent-Type: application/json\r\nAuthorization: Bearer " + CLIENT_TOKEN
				+ "\r\nConnection: " + connection, "{\"max_tokens\":5}".getBytes(StandardCharsets.UTF_8));

		assertThat(response.status()).isEqualTo(200);
		assertThat(response.headers()).containsEntry("x-keypool-key", "sigv4");
		assertThat(bedrock.received()).singleElement()
			.satisfies((received) -> assertThat(received.credential()).isEqualTo(AKID));
		assertEveryKeyAvailable("bedrock");
	}

	@ParameterizedTest
	@ValueSource(strings = { "authorization", "Authorization, x-api-key" })
	void aVertexAccessTokenListedInConnectionStillGoesOut(String connection) {
		Response response = RawHttp.exchange(this.port, "POST " + VERTEX_PATH + " HTTP/1.1\r\nHost: x\r\n"
				+ "Content-Type: application/json\r\nAuthorization: Bearer " + CLIENT_TOKEN + "\r\nConnection: "
				+ connection, "{\"max_tokens\":5}".getBytes(StandardCharsets.UTF_8));

		assertThat(response.status()).isEqualTo(200);
		assertThat(vertex.received()).singleElement()
			.satisfies((received) -> assertThat(received.account()).isEqualTo(SA));
		assertEveryKeyAvailable("vertex");
	}

	/** Defence in depth: a filter after the key was set (here an operator's) drops it. */
	@Test
	void anAttemptThatLeftWithoutItsCredentialMarksNoKey() {
		Response response = RawHttp.exchange(this.port, "POST /stripped/v1/messages HTTP/1.1\r\nHost: x\r\n"
				+ "Content-Type: application/json\r\nx-api-key: " + CLIENT_TOKEN,
				"{\"model\":\"claude-haiku-4-5\"}".getBytes(StandardCharsets.UTF_8));

		assertThat(response.status()).isEqualTo(401);
		assertThat(response.body()).contains("invalid x-api-key");
		assertThat(response.headers()).containsEntry("x-keypool-key", "s0").containsEntry("x-keypool-attempts", "1");
		assertThat(anthropic.received).singleElement()
			.satisfies((headers) -> assertThat(headers.contains("x-api-key")).isFalse());
		assertEveryKeyAvailable("stripped");
	}

	private void assertEveryKeyAvailable(String pool) {
		WebTestClient.bindToServer()
			.baseUrl("http://127.0.0.1:" + this.managementPort)
			.build()
			.get()
			.uri("/actuator/keypools/" + pool)
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.keys[*].state")
			.value((states) -> assertThat((List<?>) states).isNotEmpty().allMatch("available"::equals));
	}

	/** The Messages API as far as keys go: the pool's secrets are accepted, nothing else is. */
	static final class KeyChecking {

		final List<HttpHeaders> received = new CopyOnWriteArrayList<>();

		final DisposableServer server = HttpServer.create()
			.host("127.0.0.1")
			.port(0)
			.handle((request, response) -> request.receive().then(Mono.defer(() -> {
				this.received.add(request.requestHeaders().copy());
				String key = request.requestHeaders().get("x-api-key");
				boolean known = SECRET_0.equals(key) || SECRET_1.equals(key);
				return response.status(known ? 200 : 401)
					.header("Content-Type", "application/json")
					.sendString(Mono.just(known ? "{\"type\":\"message\",\"id\":\"msg_hop\"}"
							: "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key\"}}"))
					.then();
			})))
			.bindNow();

		String url() {
			return "http://127.0.0.1:" + this.server.port();
		}

	}

}
