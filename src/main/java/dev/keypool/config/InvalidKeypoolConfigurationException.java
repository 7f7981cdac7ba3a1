package dev.keypool.config;

import java.util.List;

/**
 * The configuration cannot work. The message names each offending property, one per line.
 */
public class InvalidKeypoolConfigurationException extends RuntimeException {

	private final List<String> problems;

	public InvalidKeypoolConfigurationException(List<String> problems) {
		super("Invalid keypool configuration: " + String.join("; ", problems));
		this.problems = List.copyOf(problems);
	}

	public List<String> getProblems() {
		return this.problems;
	}

}
