package dev.keypool.config;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Replaces the stack trace of a bad configuration with the list of properties to fix.
 */
class InvalidKeypoolConfigurationFailureAnalyzer extends AbstractFailureAnalyzer<InvalidKeypoolConfigurationException> {

	@Override
	protected FailureAnalysis analyze(Throwable rootFailure, InvalidKeypoolConfigurationException cause) {
		return new FailureAnalysis("Invalid keypool configuration:\n    " + String.join("\n    ", cause.getProblems()),
				"Fix the properties named above in application.yaml or their environment variables.", cause);
	}

}
