package dev.keypool.actuate;

import java.net.URI;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import reactor.core.publisher.Mono;

import org.springframework.http.HttpMethod;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Who may change key state, for every combination of admin configuration and request.
 * {@code pass} means the request reaches the endpoint.
 */
class KeyPoolsWriteGuardTest {

	@ParameterizedTest(name = "token={0} allowUnauthenticated={1}: {2} {3} Authorization={4} -> {5}")
	@CsvSource(nullValues = "none", textBlock = """
			# token,  allow, method, path,                          authorization,      outcome
			s3cret,   false, DELETE, /actuator/keypools/p/k,        Bearer s3cret,      pass
			s3cret,   false, DELETE, /actuator/keypools/p/k,        bearer s3cret,      pass
			s3cret,   false, DELETE, /actuator/keypools/p/k,        none,               401
			s3cret,   false, DELETE, /actuator/keypools/p/k,        Bearer wrong,       401
			s3cret,   false, DELETE, /actuator/keypools/p/k,        Bearer s3cret2,     401
			s3cret,   false, DELETE, /actuator/keypools/p/k,        Basic s3cret,       401
			s3cret,   true,  DELETE, /actuator/keypools/p/k,        none,               401
			s3cret,   false, POST,   /actuator/keypools,            none,               401
			s3cret,   false, DELETE, '/actuator/keypools;x=1/p/k',  none,               401
			s3cret,   false, DELETE, /actuator//keypools/p/k,       none,               401
			s3cret,   false, DELETE, /actuator/key%70ools/p/k,      none,               401
			none,     false, DELETE, /actuator/keypools/p/k,        none,               403
			none,     false, DELETE, /actuator/keypools/p/k,        Bearer anything,    403
			'',       false, DELETE, /actuator/keypools/p/k,        Bearer '',          403
			none,     true,  DELETE, /actuator/keypools/p/k,        none,               pass
			s3cret,   false, GET,    /actuator/keypools/p,          none,               pass
			none,     false, GET,    /actuator/keypools,            none,               pass
			none,     false, HEAD,   /actuator/keypools,            none,               pass
			none,     false, POST,   /actuator/keypoolsx,           none,               pass
			none,     false, POST,   /actuator/loggers/x,           none,               pass
			""")
	void writesToKeypoolsNeedTheAdminTokenOrAnExplicitOptIn(String token, boolean allow, String method, String path,
			String authorization, String outcome) {
		KeyPoolsWriteGuard guard = new KeyPoolsWriteGuard(() -> "/actuator/keypools", token, allow);
		MockServerHttpRequest.BaseBuilder<?> request = MockServerHttpRequest.method(HttpMethod.valueOf(method),
				URI.create(path));
		if (authorization != null) {
			request.header("Authorization", authorization);
		}
		MockServerWebExchange exchange = MockServerWebExchange.from(request);
		AtomicBoolean passed = new AtomicBoolean();

		guard.filter(exchange, (filtered) -> Mono.fromRunnable(() -> passed.set(true))).block();

		if (outcome.equals("pass")) {
			assertThat(passed).isTrue();
		}
		else {
			assertThat(passed).isFalse();
			assertThat(exchange.getResponse().getStatusCode().value()).isEqualTo(Integer.parseInt(outcome));
			String body = exchange.getResponse().getBodyAsString().block();
			assertThat(body).startsWith("{\"error\":");
			if (token != null && !token.isEmpty()) {
				assertThat(body).doesNotContain(token);
			}
		}
	}

}
