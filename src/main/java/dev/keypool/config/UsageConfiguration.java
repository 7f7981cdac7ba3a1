package dev.keypool.config;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import dev.keypool.actuate.KeyPoolClientsEndpoint;
import dev.keypool.budget.BudgetStore;
import dev.keypool.budget.ClientBudgets;
import dev.keypool.budget.ClientLimits;
import dev.keypool.budget.LocalBudgetStore;
import dev.keypool.budget.RedisBudgetStore;
import dev.keypool.config.reload.LiveKeypool;
import dev.keypool.gateway.KeyFailoverGatewayFilterFactory;
import dev.keypool.usage.AccessLog;
import dev.keypool.usage.UsageAccounting;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.data.redis.connection.ReactiveRedisConnectionFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;

/**
 * Token accounting, client budgets (in this process, or in Redis with
 * {@code keypool.state.store=redis}), the {@code keypoolclients} endpoint and the access log.
 */
@Configuration(proxyBeanMethods = false)
public class UsageConfiguration {

	@Bean
	ClientBudgets clientBudgets(KeypoolProperties properties, BudgetStore store, Clock clock,
			ObjectProvider<MeterRegistry> registry, LiveKeypool live) {
		ClientBudgets budgets = new ClientBudgets(limitsOf(properties), store, clock,
				registry.getIfAvailable(SimpleMeterRegistry::new));
		// a reload swaps the configuration before the pools, so the new clients are in force here
		live.pools().onReplaced(() -> budgets.replaceLimits(limitsOf(live.properties())));
		return budgets;
	}

	private static Map<String, ClientLimits> limitsOf(KeypoolProperties properties) {
		Map<String, ClientLimits> limits = new LinkedHashMap<>();
		for (KeypoolProperties.Client client : properties.clients()) {
			KeypoolProperties.Limits configured = client.limits();
			limits.put(client.id(), (configured != null) ? new ClientLimits(configured.requestsPerMinute(),
					configured.tokensPerMinute(), configured.tokensPerDay()) : ClientLimits.NONE);
		}
		return limits;
	}

	@Bean
	UsageAccounting usageAccounting(ClientBudgets budgets, ObjectProvider<MeterRegistry> registry) {
		return new UsageAccounting(registry.getIfAvailable(SimpleMeterRegistry::new),
				List.of(budgets, new UsageOnRequestSpans()));
	}

	@Bean
	KeyPoolClientsEndpoint keyPoolClientsEndpoint(ClientBudgets budgets) {
		return new KeyPoolClientsEndpoint(budgets);
	}

	@Bean
	@ConditionalOnProperty(name = "keypool.access-log", havingValue = "true")
	AccessLog keypoolAccessLog() {
		return new AccessLog(KeyFailoverGatewayFilterFactory.KEY_HEADER, KeyFailoverGatewayFilterFactory.ATTEMPTS_HEADER);
	}

	@Bean
	@ConditionalOnProperty(name = "keypool.state.store", havingValue = "memory", matchIfMissing = true)
	BudgetStore localBudgetStore(Clock clock) {
		return new LocalBudgetStore(clock);
	}

	@Bean
	@ConditionalOnProperty(name = "keypool.state.store", havingValue = "redis")
	BudgetStore redisBudgetStore(ReactiveRedisConnectionFactory connectionFactory,
			@Value("${keypool.state.redis.prefix:keypool:}") String prefix,
			@Value("${spring.data.redis.timeout:2s}") Duration timeout) {
		return new RedisBudgetStore(new ReactiveStringRedisTemplate(connectionFactory), prefix, timeout);
	}

}
