package dev.keypool.state;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyStatus;
import dev.keypool.support.UpstreamStub;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

import static dev.keypool.support.UpstreamStub.json;
import static dev.keypool.support.UpstreamStub.rateLimited;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two gateways on a Sentinel set ({@code spring.data.redis.sentinel.*}): they share key state
 * through the master; when the master is killed ({@code kill -9}) under traffic, no request
 * fails, each gateway says it works on local state, and once the replica is promoted they
 * share again by themselves, what was marked meanwhile included.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RedisSentinelFailoverIntegrationTest {

	@RegisterExtension
	static final RedisSentinelSupport sentinel = new RedisSentinelSupport();

	static final String TOKEN = "token-sentinel-0001";

	static final UpstreamStub upstream = new UpstreamStub();

	static RedisGateways.Gateway gatewayA;

	static RedisGateways.Gateway gatewayB;

	@BeforeAll
	static void startGateways() {
		Map<String, String> redis = Map.of("spring.data.redis.sentinel.master", RedisSentinelSupport.MASTER,
				"spring.data.redis.sentinel.nodes", sentinel.sentinelNodes());
		gatewayA = RedisGateways.start(redis, properties(), upstream);
		gatewayB = RedisGateways.start(redis, properties(), upstream);
	}

	@AfterAll
	static void stopGateways() {
		RedisGateways.close(gatewayB, gatewayA);
		upstream.close();
	}

	@Test
	@Order(1)
	void aRateLimitOnOneGatewayIsSeenByTheOther() {
		upstream.enqueue(rateLimited("60"), json(200, "{\"ok\":\"a\"}"));
		assertThat(gatewayA.post(TOKEN).getResponseHeaders().getFirst("X-Keypool-Key")).isEqualTo("k1");
		await().atMost(Duration.ofSeconds(1)).until(() -> gatewayB.status("test", "k0") == KeyStatus.COOLING_DOWN);
		upstream.takeAll();

		assertThat(gatewayB.post(TOKEN).getResponseHeaders().getFirst("X-Keypool-Key")).isEqualTo("k1");
		assertThat(upstream.takeAll()).as("B never tried k0").hasSize(1);
		assertThat(gatewayA.stateStoreUp()).isEqualTo(1.0);
	}

	@Test
	@Order(2)
	void killingTheMasterUnderTrafficFailsNoRequestAndSharingResumesAfterThePromotion() throws Exception {
		KeyPool poolA = gatewayA.pool("test");
		poolA.keys().forEach(poolA::reset);
		await().atMost(Duration.ofSeconds(1)).until(() -> gatewayB.status("test", "k0") == KeyStatus.AVAILABLE);
		upstream.reset();
		int oldMaster = sentinel.masterPort();
		AtomicBoolean trafficOn = new AtomicBoolean(true);
		AtomicInteger sent = new AtomicInteger();
		AtomicInteger failed = new AtomicInteger();
		Thread traffic = new Thread(() -> {
			// bounded: one request at a time, alternating gateways, until told to stop (or 2000)
			while (trafficOn.get() && sent.get() < 2000) {
				RedisGateways.Gateway gateway = (sent.getAndIncrement() % 2 == 0) ? gatewayA : gatewayB;
				try {
					if (gateway.post(TOKEN).getStatus().value() != 200) {
						failed.incrementAndGet();
					}
				}
				catch (RuntimeException | AssertionError ex) {
					failed.incrementAndGet();
				}
			}
		}, "traffic");
		traffic.start();
		await().atMost(Duration.ofSeconds(5)).until(() -> sent.get() > 10);

		long killed = System.nanoTime();
		sentinel.killMaster();
		// marked while there is no master: A keeps it and gives it to the new master
		poolA.disable(poolA.key("k2").orElseThrow(), 401);
		AtomicBoolean sawDown = new AtomicBoolean();
		await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
			if (!sawDown.get() && gatewayA.stateStoreUp() == 0.0 && gatewayB.stateStoreUp() == 0.0) {
				sawDown.set(true);
			}
			return gatewayB.status("test", "k2") == KeyStatus.DISABLED;
		});
		long sharedAgainMs = (System.nanoTime() - killed) / 1_000_000;
		await().atMost(Duration.ofSeconds(5))
			.until(() -> gatewayA.stateStoreUp() == 1.0 && gatewayB.stateStoreUp() == 1.0);
		Thread.sleep(500);
		trafficOn.set(false);
		traffic.join(30_000);

		System.out.printf("sentinel failover: kill -9 to shared state again %d ms, %d requests, %d failed%n",
				sharedAgainMs, sent.get(), failed.get());
		assertThat(sentinel.masterPort()).as("the replica was promoted").isNotEqualTo(oldMaster);
		assertThat(sawDown).as("both gateways reported the store down while there was no master").isTrue();
		assertThat(failed.get()).as("requests failed during the failover").isZero();

		// and both ways on the new master, without a restart
		upstream.takeAll();
		upstream.enqueue(rateLimited("60"), json(200, "{\"ok\":\"b\"}"));
		assertThat(gatewayB.post(TOKEN).getResponseHeaders().getFirst("X-Keypool-Key")).isEqualTo("k1");
		await().atMost(Duration.ofSeconds(1)).until(() -> gatewayA.status("test", "k0") == KeyStatus.COOLING_DOWN);
	}

	private static Map<String, String> properties() {
		Map<String, String> properties = new LinkedHashMap<>();
		properties.put("keypool.clients[0].id", "team-a");
		properties.put("keypool.clients[0].token", TOKEN);
		// every request checks the shared budget too: it must fail open while there is no master
		properties.put("keypool.clients[0].limits.requests-per-minute", "100000");
		for (int k = 0; k < 3; k++) {
			properties.put("keypool.pools.test.keys[" + k + "].id", "k" + k);
			properties.put("keypool.pools.test.keys[" + k + "].secret", "sk-sentinel-" + k + "-abcdefgh");
		}
		properties.put("spring.cloud.gateway.server.webflux.routes[0].id", "test");
		properties.put("spring.cloud.gateway.server.webflux.routes[0].uri", upstream.url());
		properties.put("spring.cloud.gateway.server.webflux.routes[0].predicates[0]", "Path=/v1/**");
		properties.put("spring.cloud.gateway.server.webflux.routes[0].filters[0]", "KeyFailover=test");
		return properties;
	}

}
