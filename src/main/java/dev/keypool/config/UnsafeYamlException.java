package dev.keypool.config;

/**
 * A YAML configuration file outside the limits of {@link BoundedYamlPropertySourceLoader}. The
 * message names the file and the limit, never anything of its content, so it may be logged.
 */
public class UnsafeYamlException extends IllegalStateException {

	public UnsafeYamlException(String file, String reason) {
		super("Configuration file " + file + " refused: " + reason);
	}

}
