package dev.keypool.config;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Replaces the stack trace of a bad configuration with the list of properties to fix, each
 * with where it is set: the file and line, environment variable or argument Boot tracked.
 */
class InvalidKeypoolConfigurationFailureAnalyzer extends AbstractFailureAnalyzer<InvalidKeypoolConfigurationException> {

	@Override
	protected FailureAnalysis analyze(Throwable rootFailure, InvalidKeypoolConfigurationException cause) {
		return new FailureAnalysis(
				"Invalid keypool configuration:\n    " + String.join("\n    ", cause.getDescribedProblems()),
				"Fix each property named above where it is set (the file and line, environment variable or "
						+ "argument in brackets).",
				cause);
	}

}
