package dev.keypool.budget;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Flux;

import dev.keypool.state.RedisServerSupport;

import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Token reservations in the Redis budget scripts, from two replicas (two stores) at once on
 * one real Redis: what is admitted together fits the limit, and settling frees what was held.
 */
class RedisBudgetStoreTest {

	@RegisterExtension
	static final RedisServerSupport redis = new RedisServerSupport();

	static final ClientLimits THOUSAND_A_MINUTE = new ClientLimits(null, 1000L, null);

	LettuceConnectionFactory connections;

	RedisBudgetStore replicaA;

	RedisBudgetStore replicaB;

	@BeforeEach
	void connect() {
		redis.flushAll();
		this.connections = new LettuceConnectionFactory(new RedisStandaloneConfiguration(redis.host(), redis.port()));
		this.connections.afterPropertiesSet();
		this.connections.start();
		ReactiveStringRedisTemplate template = new ReactiveStringRedisTemplate(this.connections);
		this.replicaA = new RedisBudgetStore(template, "keypool:", Duration.ofSeconds(2));
		this.replicaB = new RedisBudgetStore(template, "keypool:", Duration.ofSeconds(2));
	}

	@AfterEach
	void disconnect() {
		this.connections.destroy();
	}

	@Test
	void concurrentReservationsFromTwoReplicasAdmitOnlyWhatFitsTheLimit() {
		List<BudgetDecision> decisions = Flux.range(0, 20)
			.flatMap((i) -> ((i % 2 == 0) ? this.replicaA : this.replicaB).check("team-c", THOUSAND_A_MINUTE, 126),
					20)
			.collectList()
			.block(Duration.ofSeconds(10));

		assertThat(decisions.stream().filter(BudgetDecision::allowed).count()).isEqualTo(1000 / 126);
		assertThat(decisions.stream().filter((decision) -> !decision.allowed()))
			.allSatisfy((decision) -> assertThat(decision.limit()).isEqualTo(BudgetDecision.TOKENS_PER_MINUTE));
	}

	@Test
	void settlingReleasesTheReservationAndChargesWhatWasUsed() {
		BudgetDecision big = this.replicaA.check("team-s", THOUSAND_A_MINUTE, 900).block(Duration.ofSeconds(5));
		assertThat(big.allowed()).isTrue();
		assertThat(this.replicaB.check("team-s", THOUSAND_A_MINUTE, 200).block(Duration.ofSeconds(5)).allowed())
			.as("900 held leave no room for 200").isFalse();

		this.replicaA.settle("team-s", big.reservation(), 50).block(Duration.ofSeconds(5));

		assertThat(this.replicaB.check("team-s", THOUSAND_A_MINUTE, 200).block(Duration.ofSeconds(5)).allowed())
			.isTrue();
		assertThat(this.replicaB.use("team-s", THOUSAND_A_MINUTE).block(Duration.ofSeconds(5)).tokensThisMinute())
			.isEqualTo(50);
	}

	@Test
	void aReservationLargerThanTheLimitRunsAlone() {
		BudgetDecision alone = this.replicaA.check("team-l", THOUSAND_A_MINUTE, 5000).block(Duration.ofSeconds(5));

		assertThat(alone.allowed()).isTrue();
		assertThat(this.replicaB.check("team-l", THOUSAND_A_MINUTE, 1).block(Duration.ofSeconds(5)).allowed()).isFalse();
	}

}
