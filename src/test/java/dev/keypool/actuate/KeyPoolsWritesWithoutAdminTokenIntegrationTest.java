package dev.keypool.actuate;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import dev.keypool.KeypoolGatewayApplication;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.pool.KeyStatus;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * With no {@code keypool.admin.token} (the shipped default: an unset
 * {@code KEYPOOL_ADMIN_TOKEN}), key resets are refused unless unauthenticated writes are
 * explicitly allowed, as the demo profile does.
 */
@SpringBootTest(classes = KeypoolGatewayApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = { "management.server.port=0", "keypool.pools.solo.keys[0].id=only",
		"keypool.pools.solo.keys[0].secret=sk-solo-secret-0001", "spring.cloud.gateway.server.webflux.routes[0].id=solo",
		"spring.cloud.gateway.server.webflux.routes[0].uri=http://127.0.0.1:9",
		"spring.cloud.gateway.server.webflux.routes[0].predicates[0]=Path=/v1/**",
		"spring.cloud.gateway.server.webflux.routes[0].filters[0]=KeyFailover=solo" })
class KeyPoolsWritesWithoutAdminTokenIntegrationTest {

	abstract static class Base {

		@LocalManagementPort
		int managementPort;

		@Autowired
		KeyPools pools;

		WebTestClient management;

		KeyPool pool;

		@BeforeEach
		void disableTheKey() {
			this.management = OperatingIntegrationTest.client(this.managementPort);
			this.pool = this.pools.get("solo").orElseThrow();
			this.pool.disable(this.pool.keys().get(0), 401);
		}

		WebTestClient.ResponseSpec reset() {
			return this.management.delete().uri("/actuator/keypools/solo/only").exchange();
		}

		KeyStatus status() {
			return this.pool.status(this.pool.keys().get(0));
		}

	}

	@Nested
	@TestPropertySource(properties = "keypool.admin.allow-unauthenticated-writes=false")
	class NotAllowed extends Base {

		@Test
		void resetIsForbiddenAndChangesNothing() {
			reset().expectStatus()
				.isForbidden()
				.expectBody()
				.jsonPath("$.error")
				.isEqualTo("forbidden");

			assertThat(status()).isEqualTo(KeyStatus.DISABLED);
		}

		@Test
		void readsStayOpen() {
			this.management.get()
				.uri("/actuator/keypools/solo")
				.exchange()
				.expectStatus()
				.isOk()
				.expectBody()
				.jsonPath("$.keys[0].state")
				.isEqualTo("disabled");
		}

	}

	@Nested
	@TestPropertySource(properties = "keypool.admin.allow-unauthenticated-writes=true")
	class AllowedExplicitly extends Base {

		@Test
		void resetNeedsNoToken() {
			reset().expectStatus().isNoContent().expectBody().isEmpty();

			assertThat(status()).isEqualTo(KeyStatus.AVAILABLE);
		}

	}

}
