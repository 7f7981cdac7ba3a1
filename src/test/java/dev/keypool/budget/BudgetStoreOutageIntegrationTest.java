package dev.keypool.budget;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.keypool.state.RedisServerSupport;
import dev.keypool.support.UpstreamStub;

import org.springframework.context.ConfigurableApplicationContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A gateway whose budgets live in Redis keeps serving a client with limits while Redis does
 * not answer (fail-open), on a gateway and Redis of its own: after a failure the budget store
 * is skipped for a few seconds, which must not reach other tests.
 */
class BudgetStoreOutageIntegrationTest {

	@RegisterExtension
	static final RedisServerSupport redis = new RedisServerSupport();

	static final UpstreamStub upstream = new UpstreamStub();

	static ConfigurableApplicationContext gateway;

	@BeforeAll
	static void startGateway() {
		gateway = TwoGatewaysShareOneBudgetIntegrationTest.startGateway(redis, upstream);
	}

	@AfterAll
	static void stopGateway() {
		if (gateway != null) {
			gateway.close();
		}
		upstream.close();
	}

	@Test
	void requestsAreServedWhileRedisDoesNotAnswer() {
		upstream.answerByDefault(
				UpstreamStub.json(200, TwoGatewaysShareOneBudgetIntegrationTest.MESSAGE));
		redis.pause();
		try {
			for (int i = 0; i < 5; i++) {
				assertThat(TwoGatewaysShareOneBudgetIntegrationTest.post(gateway, "token-rpm-0001").getStatus().value())
					.isEqualTo(200);
			}
		}
		finally {
			redis.resume();
		}
	}

}
