package dev.keypool.actuate;

import java.time.Instant;
import java.util.List;

import reactor.core.publisher.Mono;

import dev.keypool.budget.ClientBudgets;
import dev.keypool.budget.ClientBudgets.ClientBudget;
import dev.keypool.budget.ClientLimits;

import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;

/**
 * {@code /actuator/keypoolclients}: every configured client's budget limits and its use in the
 * current minute and UTC day, read from the budget store (shared through Redis when key state
 * is). Modelled on Spring Boot's {@code LoggersEndpoint}; read-only. Never shows a token.
 */
@Endpoint(id = KeyPoolClientsEndpoint.ID)
public class KeyPoolClientsEndpoint {

	/** The endpoint id, also its path under the actuator base path. */
	public static final String ID = "keypoolclients";

	private final ClientBudgets budgets;

	public KeyPoolClientsEndpoint(ClientBudgets budgets) {
		this.budgets = budgets;
	}

	/** Every client, in configuration order. */
	@ReadOperation
	public Mono<ClientsDescriptor> clients() {
		return this.budgets.use().map((all) -> new ClientsDescriptor(all.stream().map(KeyPoolClientsEndpoint::describe).toList()));
	}

	private static ClientDescriptor describe(ClientBudget budget) {
		ClientLimits limits = budget.limits();
		LimitsDescriptor limitsDescriptor = new LimitsDescriptor(limits.requestsPerMinute(), limits.tokensPerMinute(),
				limits.tokensPerDay());
		if (budget.use() == null) {
			return new ClientDescriptor(budget.client(), limitsDescriptor, null, null);
		}
		return new ClientDescriptor(budget.client(), limitsDescriptor,
				new MinuteDescriptor(budget.use().requestsThisMinute(), budget.use().tokensThisMinute()),
				new DayDescriptor(budget.use().tokensToday(), budget.dayResetsAt()));
	}

	/** Every client. */
	public record ClientsDescriptor(List<ClientDescriptor> clients) {
	}

	/**
	 * One client: its limits ({@code null} fields: no limit) and its use; {@code minute} and
	 * {@code day} are {@code null} for a client without limits (its use is in
	 * {@code keypool_tokens_total}) or while the store cannot be read.
	 */
	public record ClientDescriptor(String client, LimitsDescriptor limits, MinuteDescriptor minute,
			DayDescriptor day) {
	}

	/** A client's limits. */
	public record LimitsDescriptor(Long requestsPerMinute, Long tokensPerMinute, Long tokensPerDay) {
	}

	/** Use in the last 60 seconds; {@code requests} is counted only with a per-minute request limit. */
	public record MinuteDescriptor(Long requests, long tokens) {
	}

	/** Use since 00:00 UTC, and when the count starts again. */
	public record DayDescriptor(long tokens, Instant resetsAt) {
	}

}
