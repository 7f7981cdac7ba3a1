package dev.keypool.actuate;

import java.net.URI;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

import dev.keypool.pool.KeyPool;

import org.springframework.http.MediaType;

import static dev.keypool.support.UpstreamStub.json;
import static dev.keypool.support.UpstreamStub.rateLimited;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code /actuator/keypools}, the write guard and the {@code keypools} health contributor
 * through real HTTP on the management port, after real traffic through the public port.
 */
class KeyPoolsEndpointIntegrationTest extends OperatingIntegrationTest {

	@Test
	void listsEveryPoolWithMaskedHintsAndANeverUsedKeyAvailable() {
		this.management.get()
			.uri("/actuator/keypools")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.pools[*].pool").isEqualTo(List.of("test", "spare"))
			.jsonPath("$.pools[1].provider").isEqualTo("anthropic")
			.jsonPath("$.pools[1].store.type").isEqualTo("memory")
			.jsonPath("$.pools[1].store.connected").isEqualTo(true)
			.jsonPath("$.pools[1].counts.available").isEqualTo(1)
			.jsonPath("$.pools[1].counts.cooling_down").isEqualTo(0)
			.jsonPath("$.pools[1].counts.disabled").isEqualTo(0)
			.jsonPath("$.pools[1].keys[0].id").isEqualTo("s0")
			.jsonPath("$.pools[1].keys[0].hint").isEqualTo("sk-s...cdef")
			.jsonPath("$.pools[1].keys[0].state").isEqualTo("available")
			.jsonPath("$.pools[1].keys[0].cooldownUntil").isEmpty()
			.jsonPath("$.pools[1].keys[0].cooldownRemainingSeconds").isEqualTo(0)
			.jsonPath("$.pools[1].keys[0].lastStatus").isEmpty()
			.jsonPath("$.pools[1].keys[0].lastFailureAt").isEmpty();
	}

	@Test
	void rateLimitedKeyShowsWhenItsCooldownEndsAndTheRemainingSecondsRoundedUp() {
		upstream.enqueue(rateLimited("30"), json(200, "{}"));
		assertThat(postPooled()).isEqualTo(200);
		clock.advance(Duration.ofMillis(10_500));

		this.management.get()
			.uri("/actuator/keypools/test")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.pool").isEqualTo("test")
			.jsonPath("$.counts.available").isEqualTo(2)
			.jsonPath("$.counts.cooling_down").isEqualTo(1)
			.jsonPath("$.keys[0].id").isEqualTo("k0")
			.jsonPath("$.keys[0].state").isEqualTo("cooling_down")
			.jsonPath("$.keys[0].cooldownUntil").isEqualTo("2026-01-01T00:00:30Z")
			.jsonPath("$.keys[0].cooldownRemainingSeconds").isEqualTo(20)
			.jsonPath("$.keys[0].lastStatus").isEqualTo(429)
			.jsonPath("$.keys[0].lastFailureAt").isEqualTo("2026-01-01T00:00:00Z")
			.jsonPath("$.keys[1].state").isEqualTo("available");
	}

	@ParameterizedTest
	@ValueSource(ints = { 401, 403 })
	void keyFailingAuthenticationShowsDisabledWithItsStatus(int status) {
		upstream.enqueue(json(status, "{}"), json(200, "{}"));
		assertThat(postPooled()).isEqualTo(200);

		this.management.get()
			.uri("/actuator/keypools/test")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody()
			.jsonPath("$.counts.disabled").isEqualTo(1)
			.jsonPath("$.keys[0].state").isEqualTo("disabled")
			.jsonPath("$.keys[0].cooldownUntil").isEmpty()
			.jsonPath("$.keys[0].cooldownRemainingSeconds").isEqualTo(0)
			.jsonPath("$.keys[0].lastStatus").isEqualTo(status);
	}

	@Test
	void unknownPoolIsNotFound() {
		this.management.get()
			.uri("/actuator/keypools/nope")
			.exchange()
			.expectStatus()
			.isNotFound()
			.expectBody()
			.returnResult();
	}

	@Test
	void resetWithTheAdminTokenMakesADisabledKeyAvailableAndKeepsItsLastFailure() {
		upstream.enqueue(json(401, "{}"));
		assertThat(postPooled()).isEqualTo(200);

		this.management.delete()
			.uri("/actuator/keypools/test/k0")
			.header("Authorization", "Bearer " + ADMIN_TOKEN)
			.exchange()
			.expectStatus()
			.isNoContent()
			.expectBody()
			.isEmpty();

		this.management.get()
			.uri("/actuator/keypools/test")
			.exchange()
			.expectBody()
			.jsonPath("$.keys[0].state").isEqualTo("available")
			.jsonPath("$.keys[0].lastStatus").isEqualTo(401);
	}

	@ParameterizedTest(name = "Authorization: {0}")
	@NullSource
	@ValueSource(strings = { "Bearer wrong-token", "Bearer ", "Basic " + ADMIN_TOKEN, ADMIN_TOKEN,
			"Bearer " + ADMIN_TOKEN + "x" })
	void resetWithoutTheRightAdminTokenIsUnauthorizedAndChangesNothing(String authorization) {
		upstream.enqueue(json(401, "{}"));
		assertThat(postPooled()).isEqualTo(200);

		byte[] body = this.management.delete()
			.uri("/actuator/keypools/test/k0")
			.headers((headers) -> {
				if (authorization != null) {
					headers.set("Authorization", authorization);
				}
			})
			.exchange()
			.expectStatus()
			.isUnauthorized()
			.expectHeader()
			.valueEquals("WWW-Authenticate", "Bearer")
			.expectHeader()
			.contentType(MediaType.APPLICATION_JSON)
			.expectBody()
			.jsonPath("$.error").isEqualTo("unauthorized")
			.returnResult()
			.getResponseBody();

		assertThat(new String(body)).doesNotContain(ADMIN_TOKEN);
		KeyPool pool = this.pools.get("test").orElseThrow();
		assertThat(pool.status(pool.keys().get(0)).wireName()).isEqualTo("disabled");
	}

	@ParameterizedTest(name = "DELETE {0}")
	@CsvSource({ "/actuator/keypools/test/nope, pool 'test' has no such key",
			"/actuator/keypools/nope/k0, no such pool" })
	void resetOfAnUnknownPoolOrKeyIsNotFound(String path, String message) {
		this.management.delete()
			.uri(path)
			.header("Authorization", "Bearer " + ADMIN_TOKEN)
			.exchange()
			.expectStatus()
			.isNotFound()
			.expectBody()
			.jsonPath("$.error").isEqualTo("not_found")
			.jsonPath("$.message").isEqualTo(message);
	}

	@Test
	void healthStaysUpWhileOnlyOneModelClassIsExhausted() {
		upstream.enqueue(rateLimited("5"), rateLimited("8"), rateLimited("9"));
		assertThat(postPooled("{\"model\":\"claude-opus-4-7\"}")).isEqualTo(429);

		assertHealth("/actuator/health", 200, "UP");
	}

	@Test
	void healthGoesDownWhileThePoolIsExhaustedAndUpWhenAKeyCoolsOffWhileProbesStayUp() {
		assertHealth("/actuator/health", 200, "UP");

		upstream.enqueue(rateLimited("5"), rateLimited("8"), json(401, "{}"));
		assertThat(postPooled("{\"max_tokens\":1}")).as("no model: key-wide cooldowns").isEqualTo(429);

		this.management.get()
			.uri("/actuator/health")
			.exchange()
			.expectStatus()
			.isEqualTo(503)
			.expectBody()
			.jsonPath("$.status").isEqualTo("DOWN")
			.jsonPath("$.components.keypools.status").isEqualTo("DOWN")
			.jsonPath("$.components.keypools.details.pools.test.usable").isEqualTo(false)
			.jsonPath("$.components.keypools.details.pools.test.soonestRecovery").isEqualTo("2026-01-01T00:00:05Z")
			.jsonPath("$.components.keypools.details.pools.spare.usable").isEqualTo(true);
		// Exhaustion must not restart pods nor take them out of the Service: callers need the 429s.
		assertHealth("/actuator/health/liveness", 200, "UP");
		assertHealth("/actuator/health/readiness", 200, "UP");

		clock.advance(Duration.ofSeconds(5));
		assertHealth("/actuator/health", 200, "UP");
	}

	@Test
	void probesStayUpWhenEveryKeyIsDisabled() {
		upstream.enqueue(json(401, "{}"), json(403, "{}"), json(401, "{}"));
		assertThat(postPooled()).isEqualTo(502);

		assertHealth("/actuator/health", 503, "DOWN");
		assertHealth("/actuator/health/liveness", 200, "UP");
		assertHealth("/actuator/health/readiness", 200, "UP");
	}

	@ParameterizedTest
	@ValueSource(strings = { "/actuator/keypools;x=1/test/k0", "/actuator//keypools/test/k0",
			"/actuator/key%70ools/test/k0" })
	void otherSpellingsOfTheResetPathStillNeedTheAdminToken(String path) {
		upstream.enqueue(json(401, "{}"));
		assertThat(postPooled()).isEqualTo(200);

		int status = this.management.delete()
			.uri(URI.create("http://127.0.0.1:" + this.managementPort + path))
			.exchange()
			.expectBody()
			.returnResult()
			.getStatus()
			.value();

		assertThat(status).isIn(401, 404);
		KeyPool pool = this.pools.get("test").orElseThrow();
		assertThat(pool.status(pool.keys().get(0)).wireName()).isEqualTo("disabled");
	}

	@ParameterizedTest
	@ValueSource(strings = { "/actuator/health", "/actuator/keypools", "/actuator/prometheus", "/actuator" })
	void publicPortServesNoActuatorPathAndRoutesNothingUpstream(String path) {
		this.gateway.get().uri(path).exchange().expectStatus().isNotFound().expectBody().returnResult();

		assertThat(upstream.takeAll()).isEmpty();
	}

	@Test
	void publicPortRefusesActuatorWritesWithoutReachingTheEndpoint() {
		this.gateway.delete()
			.uri("/actuator/keypools/test/k0")
			.header("Authorization", "Bearer " + ADMIN_TOKEN)
			.exchange()
			.expectStatus()
			.isNotFound()
			.expectBody()
			.returnResult();

		assertThat(upstream.takeAll()).isEmpty();
	}

	private void assertHealth(String path, int status, String expected) {
		this.management.get()
			.uri(path)
			.exchange()
			.expectStatus()
			.isEqualTo(status)
			.expectBody()
			.jsonPath("$.status")
			.isEqualTo(expected);
	}

}
