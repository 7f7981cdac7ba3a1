package dev.keypool.config;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** One line instead of the trace when a configuration file is over a YAML limit. */
class UnsafeYamlFailureAnalyzer extends AbstractFailureAnalyzer<UnsafeYamlException> {

	@Override
	protected FailureAnalysis analyze(Throwable rootFailure, UnsafeYamlException cause) {
		return new FailureAnalysis(cause.getMessage(),
				"Keep each YAML configuration file under " + BoundedYamlPropertySourceLoader.MAX_FILE_SIZE
						+ " bytes, with at most " + BoundedYamlPropertySourceLoader.MAX_ALIASES
						+ " aliases to lists or maps and at most " + BoundedYamlPropertySourceLoader.MAX_NESTING
						+ " levels of nesting.",
				cause);
	}

}
