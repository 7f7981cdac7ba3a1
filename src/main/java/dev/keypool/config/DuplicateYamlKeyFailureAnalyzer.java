package dev.keypool.config;

import org.yaml.snakeyaml.constructor.DuplicateKeyException;
import org.yaml.snakeyaml.error.Mark;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * A key written twice in the same YAML map (two {@code anthropic:} entries under
 * {@code keypool.pools}, say) stops Spring Boot while it reads the configuration, before
 * logging is set up, with SnakeYAML's multi-line trace. This says it in one line, with the
 * lines of both entries.
 */
class DuplicateYamlKeyFailureAnalyzer extends AbstractFailureAnalyzer<DuplicateKeyException> {

	private static final String FOUND = "found duplicate key ";

	@Override
	protected FailureAnalysis analyze(Throwable rootFailure, DuplicateKeyException cause) {
		String problem = (cause.getProblem() != null) ? cause.getProblem() : "";
		String key = problem.startsWith(FOUND) ? "'" + problem.substring(FOUND.length()).strip() + "'" : "a key";
		String description = "Duplicate key " + key + " in a YAML configuration file: " + where(cause.getProblemMark())
				+ " repeats the key of " + where(cause.getContextMark()) + " in the same map";
		return new FailureAnalysis(description,
				"Merge the two entries into one (YAML allows each key once per map), in application.yaml or a file "
						+ "named by spring.config.additional-location or spring.config.import.",
				cause);
	}

	private static String where(Mark mark) {
		return (mark != null) ? "line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1) : "one entry";
	}

}
