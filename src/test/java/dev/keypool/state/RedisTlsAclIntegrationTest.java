package dev.keypool.state;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.keypool.pool.KeyStatus;
import dev.keypool.support.UpstreamStub;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.util.FileSystemUtils;

import static dev.keypool.support.UpstreamStub.json;
import static dev.keypool.support.UpstreamStub.rateLimited;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Redis as managed services run it: TLS only (a CA and server certificate made by the test
 * with {@code openssl}) and an ACL user with a password. Gateways connect through Spring
 * Boot's {@code spring.data.redis.ssl.*} with a PEM SSL bundle and
 * {@code spring.data.redis.username/password}; one with a wrong password says so in its log,
 * never the password, and serves requests from its local state.
 */
@ExtendWith(OutputCaptureExtension.class)
class RedisTlsAclIntegrationTest {

	static final String USER = "keypool-gw";

	static final String PASSWORD = "acl-pass-7f3c9a1e";

	static final String WRONG_PASSWORD = "acl-wrong-5b2d8e0c";

	static final String TOKEN = "token-tls-0001";

	static final UpstreamStub upstream = new UpstreamStub();

	static Path dir;

	static RedisProcess redis;

	static int tlsPort;

	@BeforeAll
	static void startRedisWithTlsAndAnAclUser() throws IOException {
		dir = Files.createTempDirectory("keypool-redis-tls");
		makeCertificates(dir);
		int port = RedisProcess.freePort();
		tlsPort = RedisProcess.freePort();
		// the plain port is bound to loopback for the test's own commands; the gateways use TLS
		redis = RedisProcess.start(dir.resolve("redis"), port,
				List.of("--port", Integer.toString(port), "--tls-port", Integer.toString(tlsPort), "--tls-cert-file",
						dir.resolve("server.crt").toString(), "--tls-key-file", dir.resolve("server.key").toString(),
						"--tls-ca-cert-file", dir.resolve("ca.crt").toString(), "--tls-auth-clients", "no", "--save", "",
						"--appendonly", "no", "--bind", "127.0.0.1"));
		assertThat(redis.command("ACL SETUSER " + USER + " on >" + PASSWORD + " ~keypool:* &keypool:* +@all -@dangerous"))
			.isEqualTo("OK");
	}


	@AfterAll
	static void stopRedis() {
		upstream.close();
		if (redis != null) {
			redis.stop();
		}
		if (dir != null) {
			FileSystemUtils.deleteRecursively(dir.toFile());
		}
	}

	@Test
	void twoGatewaysShareStateOverTlsAsTheAclUser() {
		RedisGateways.Gateway a = RedisGateways.start(redis(PASSWORD), properties(), upstream);
		RedisGateways.Gateway b = RedisGateways.start(redis(PASSWORD), properties(), upstream);
		try {
			upstream.enqueue(rateLimited("60"), json(200, "{\"ok\":\"a\"}"));
			assertThat(a.post(TOKEN).getResponseHeaders().getFirst("X-Keypool-Key")).isEqualTo("k1");

			await().atMost(Duration.ofSeconds(1)).until(() -> b.status("test", "k0") == KeyStatus.COOLING_DOWN);
			assertThat(a.stateStoreUp()).isEqualTo(1.0);
			assertThat(b.stateStoreUp()).isEqualTo(1.0);
			assertThat(redis.command("CLIENT LIST")).as("connections on the TLS port, as the ACL user")
				.contains("user=" + USER)
				.contains("laddr=127.0.0.1:" + tlsPort);
		}
		finally {
			RedisGateways.close(b, a);
		}
	}

	@Test
	void aWrongPasswordIsLoggedWithoutTheSecretAndTheGatewayFailsOpen(CapturedOutput output) {
		RedisGateways.Gateway wrong = RedisGateways.start(redis(WRONG_PASSWORD), properties(), upstream);
		try {
			upstream.reset();
			assertThat(wrong.post(TOKEN).getStatus().value()).as("budget and state fail open").isEqualTo(200);
			assertThat(wrong.stateStoreUp()).isEqualTo(0.0);
			await().atMost(Duration.ofSeconds(3))
				.until(() -> output.getAll()
					.lines()
					.anyMatch((line) -> line.contains("Redis is unreachable") && line.contains("WRONGPASS")
							&& line.contains("spring.data.redis.password")));
			assertThat(output.getAll()).doesNotContain(WRONG_PASSWORD).doesNotContain(PASSWORD);
		}
		finally {
			RedisGateways.close(wrong);
		}
	}

	private static Map<String, String> redis(String password) {
		Map<String, String> properties = new LinkedHashMap<>();
		properties.put("spring.data.redis.host", "127.0.0.1");
		properties.put("spring.data.redis.port", Integer.toString(tlsPort));
		properties.put("spring.data.redis.ssl.enabled", "true");
		properties.put("spring.data.redis.ssl.bundle", "redis");
		properties.put("spring.ssl.bundle.pem.redis.truststore.certificate", dir.resolve("ca.crt").toUri().toString());
		properties.put("spring.data.redis.username", USER);
		properties.put("spring.data.redis.password", password);
		return properties;
	}

	private static Map<String, String> properties() {
		Map<String, String> properties = new LinkedHashMap<>();
		properties.put("keypool.clients[0].id", "team-a");
		properties.put("keypool.clients[0].token", TOKEN);
		properties.put("keypool.clients[0].limits.requests-per-minute", "1000");
		for (int k = 0; k < 2; k++) {
			properties.put("keypool.pools.test.keys[" + k + "].id", "k" + k);
			properties.put("keypool.pools.test.keys[" + k + "].secret", "sk-tls-" + k + "-abcdefgh");
		}
		properties.put("spring.cloud.gateway.server.webflux.routes[0].id", "test");
		properties.put("spring.cloud.gateway.server.webflux.routes[0].uri", upstream.url());
		properties.put("spring.cloud.gateway.server.webflux.routes[0].predicates[0]", "Path=/v1/**");
		properties.put("spring.cloud.gateway.server.webflux.routes[0].filters[0]", "KeyFailover=test");
		return properties;
	}

	/** A CA, and a server certificate for 127.0.0.1 signed by it, as PEM files. */
	private static void makeCertificates(Path dir) {
		String openssl = RedisProcess.binary("openssl", "OPENSSL").toString();
		try {
			Files.writeString(dir.resolve("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
		}
		catch (IOException ex) {
			throw new IllegalStateException(ex);
		}
		run(dir, openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days",
				"2", "-subj", "/CN=keypool test CA");
		run(dir, openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj",
				"/CN=localhost");
		run(dir, openssl, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
				"-out", "server.crt", "-days", "2", "-extfile", "server.ext");
	}

	private static void run(Path dir, String... command) {
		try {
			Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
			byte[] out = process.getInputStream().readAllBytes();
			if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
				throw new IllegalStateException(String.join(" ", command) + " failed: " + new String(out));
			}
		}
		catch (IOException ex) {
			throw new IllegalStateException(ex);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException(ex);
		}
	}

}
