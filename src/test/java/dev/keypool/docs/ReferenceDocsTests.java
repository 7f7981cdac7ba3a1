package dev.keypool.docs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The generated references under docs/reference are what the code and the chart say today.
 * Run with {@code -Ddocs.regenerate=true} to rewrite them; without it a stale file fails the
 * build, naming the command that regenerates it.
 */
class ReferenceDocsTests {

	static final String REGENERATE = "./mvnw -B -o -q test -Dtest=ReferenceDocsTests -Ddocs.regenerate=true";

	@Test
	void propertiesReferenceIsCurrent() throws IOException {
		assertCurrent(PropertiesReference.FILE, PropertiesReference.generate());
	}

	@Test
	void helmValuesReferenceIsCurrent() throws IOException {
		assertCurrent(HelmValuesReference.FILE, HelmValuesReference.generate());
	}

	static void assertCurrent(Path file, String generated) throws IOException {
		if (Boolean.getBoolean("docs.regenerate")) {
			Files.createDirectories(file.getParent());
			Files.writeString(file, generated);
		}
		assertThat(Files.exists(file)).as(file + " is missing; generate it with: " + REGENERATE).isTrue();
		assertThat(Files.readString(file)).as(file + " is stale; regenerate it with: " + REGENERATE)
			.isEqualTo(generated);
	}

}
