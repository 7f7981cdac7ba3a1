package dev.keypool.usage;

/** Told of the usage of every finished response that reported some (client budgets charge it). */
@FunctionalInterface
public interface UsageListener {

	/** Called once per response, on the thread that ended it; must not block. */
	void counted(CountedUsage usage);

}
