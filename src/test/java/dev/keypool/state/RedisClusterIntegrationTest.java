package dev.keypool.state;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyStatus;
import dev.keypool.support.UpstreamStub;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.data.redis.connection.RedisConnectionFactory;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Two gateways on a three-master Redis Cluster ({@code spring.data.redis.cluster.nodes}),
 * with pools whose state lands on every node: every script runs (no CROSSSLOT), the store is
 * up, disables and resets reach the other gateway within a second whichever node holds the
 * pool, and one client's budget is one budget across both gateways.
 */
class RedisClusterIntegrationTest {

	@RegisterExtension
	static final RedisClusterSupport cluster = new RedisClusterSupport();

	/** Their hash tags {p0}..{p11} fall in the slots of all three masters. */
	static final int POOLS = 12;

	static final UpstreamStub upstream = new UpstreamStub();

	static final ListAppender<ILoggingEvent> storeLogs = new ListAppender<>();

	static RedisGateways.Gateway gatewayA;

	static RedisGateways.Gateway gatewayB;

	@BeforeAll
	static void startGateways() {
		Map<String, String> redis = Map.of("spring.data.redis.cluster.nodes", cluster.nodes());
		gatewayA = RedisGateways.start(redis, properties(), upstream);
		gatewayB = RedisGateways.start(redis, properties(), upstream);
		// after the start: Spring Boot's logging set-up drops appenders added before
		storeLogs.start();
		((Logger) LoggerFactory.getLogger(RedisKeyStateStore.class)).addAppender(storeLogs);
	}

	@AfterAll
	static void stopGateways() {
		RedisGateways.close(gatewayB, gatewayA);
		upstream.close();
		((Logger) LoggerFactory.getLogger(RedisKeyStateStore.class)).detachAppender(storeLogs);
	}

	@BeforeEach
	void everyKeyAvailable() {
		upstream.reset();
		for (int i = 0; i < POOLS; i++) {
			KeyPool pool = gatewayA.pool("p" + i);
			pool.keys().forEach(pool::reset);
		}
		await().atMost(Duration.ofSeconds(2)).until(() -> allAvailable(gatewayB));
	}

	@Test
	void theGatewaysShareStateThroughTheClusterWithEveryPoolOnItsOwnSlot() {
		assertThat(gatewayA.context().getBean(RedisConnectionFactory.class)).isInstanceOf(LettuceConnectionFactory.class)
			.satisfies((factory) -> assertThat(((LettuceConnectionFactory) factory).getClusterConfiguration()).isNotNull());
		for (int i = 0; i < POOLS; i++) {
			KeyPool pool = gatewayA.pool("p" + i);
			pool.disable(pool.key("k0").orElseThrow(), 401);
		}

		await().atMost(Duration.ofSeconds(2)).until(() -> {
			for (int i = 0; i < POOLS; i++) {
				if (gatewayB.status("p" + i, "k0") != KeyStatus.DISABLED) {
					return false;
				}
			}
			return true;
		});
		assertThat(cluster.keysPerNode()).as("the pools' state is spread over every master").allMatch((keys) -> keys > 0);
		assertThat(gatewayA.stateStoreUp()).isEqualTo(1.0);
		assertThat(gatewayB.stateStoreUp()).isEqualTo(1.0);
		assertThat(List.copyOf(storeLogs.list)).extracting(ILoggingEvent::getFormattedMessage)
			.noneMatch((line) -> line.contains("CROSSSLOT") || line.contains("unreachable") || line.contains("refused"));
	}

	@Test
	void disablesAndResetsReachTheOtherGatewayWithinASecond() {
		List<Long> millis = new ArrayList<>();
		for (int round = 0; round < 3; round++) {
			for (int i = 0; i < POOLS; i++) {
				String name = "p" + i;
				KeyPool pool = gatewayA.pool(name);
				long start = System.nanoTime();
				pool.disable(pool.key("k1").orElseThrow(), 401);
				await().atMost(Duration.ofSeconds(1))
					.pollInterval(Duration.ofMillis(1))
					.until(() -> gatewayB.status(name, "k1") == KeyStatus.DISABLED);
				millis.add((System.nanoTime() - start) / 1_000_000);
				start = System.nanoTime();
				pool.reset(pool.key("k1").orElseThrow());
				await().atMost(Duration.ofSeconds(1))
					.pollInterval(Duration.ofMillis(1))
					.until(() -> gatewayB.status(name, "k1") == KeyStatus.AVAILABLE);
				millis.add((System.nanoTime() - start) / 1_000_000);
			}
		}
		Collections.sort(millis);
		long median = millis.get(millis.size() / 2);
		long p99 = millis.get((int) Math.ceil(millis.size() * 0.99) - 1);
		System.out.printf("cluster propagation over %d changes: median %d ms, p99 %d ms, max %d ms%n", millis.size(),
				median, p99, millis.get(millis.size() - 1));
		assertThat(p99).isLessThanOrEqualTo(1000);
	}

	@Test
	void oneClientBudgetIsSharedByBothGateways() {
		for (int i = 0; i < 5; i++) {
			RedisGateways.Gateway gateway = (i % 2 == 0) ? gatewayA : gatewayB;
			assertThat(gateway.post("token-rpm-0001").getStatus().value()).as("request %d", i + 1).isEqualTo(200);
		}

		assertThat(gatewayB.post("token-rpm-0001").getStatus().value()).isEqualTo(429);
		assertThat(gatewayA.post("token-rpm-0001").getStatus().value()).isEqualTo(429);
		assertThat(upstream.takeAll()).hasSize(5);
	}

	private static Map<String, String> properties() {
		Map<String, String> properties = new LinkedHashMap<>();
		properties.put("keypool.clients[0].id", "team-rpm");
		properties.put("keypool.clients[0].token", "token-rpm-0001");
		properties.put("keypool.clients[0].limits.requests-per-minute", "5");
		for (int i = 0; i < POOLS; i++) {
			for (int k = 0; k < 2; k++) {
				properties.put("keypool.pools.p" + i + ".keys[" + k + "].id", "k" + k);
				properties.put("keypool.pools.p" + i + ".keys[" + k + "].secret", "sk-cluster-" + i + "-" + k + "-abcdefgh");
			}
		}
		properties.put("spring.cloud.gateway.server.webflux.routes[0].id", "p0");
		properties.put("spring.cloud.gateway.server.webflux.routes[0].uri", upstream.url());
		properties.put("spring.cloud.gateway.server.webflux.routes[0].predicates[0]", "Path=/v1/**");
		properties.put("spring.cloud.gateway.server.webflux.routes[0].filters[0]", "KeyFailover=p0");
		return properties;
	}

	private static boolean allAvailable(RedisGateways.Gateway gateway) {
		for (int i = 0; i < POOLS; i++) {
			for (String key : List.of("k0", "k1")) {
				if (gateway.status("p" + i, key) != KeyStatus.AVAILABLE) {
					return false;
				}
			}
		}
		return true;
	}

}
