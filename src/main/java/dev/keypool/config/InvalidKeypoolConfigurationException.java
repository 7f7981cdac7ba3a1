package dev.keypool.config;

import java.util.List;

/**
 * The configuration cannot work. The message names each offending property, one per line.
 */
public class InvalidKeypoolConfigurationException extends RuntimeException {

	private final List<String> problems;

	private final List<String> described;

	public InvalidKeypoolConfigurationException(List<String> problems) {
		this(problems, problems);
	}

	/**
	 * @param problems one line per property
	 * @param described the same lines, each with where its property is set when that is known
	 * ({@link PropertyOrigins#annotate})
	 */
	public InvalidKeypoolConfigurationException(List<String> problems, List<String> described) {
		super("Invalid keypool configuration: " + String.join("; ", problems));
		this.problems = List.copyOf(problems);
		this.described = List.copyOf(described);
	}

	public List<String> getProblems() {
		return this.problems;
	}

	/** The problems, each with where its property is set when that is known. */
	public List<String> getDescribedProblems() {
		return this.described;
	}

}
