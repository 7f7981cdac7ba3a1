package dev.keypool.docs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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

	/**
	 * The contract's own property table names exactly the properties the code binds (the
	 * demo's aside, and the collections whose elements it lists).
	 */
	@Test
	void contractsPropertyTableNamesEveryPropertyAndNoOther() throws IOException {
		Set<String> generated = names(PropertiesReference.generate());
		generated.removeIf((name) -> name.startsWith("keypool.demo.") || name.equals("keypool.clients")
				|| name.equals("keypool.pools") || name.equals("keypool.pools.<name>.keys"));
		String contract = Files.readString(Path.of("docs/contract.md"));
		String table = contract.substring(contract.indexOf("### `keypool.*`"),
				contract.indexOf("### Spring settings the gateway depends on"));

		assertThat(names(table)).isEqualTo(generated);
	}

	/** The backticked {@code keypool.*} names that open the rows of a Markdown table. */
	private static Set<String> names(String markdown) {
		Set<String> names = new TreeSet<>();
		Matcher row = Pattern.compile("^\\| `(keypool\\.[^`]+)` \\|", Pattern.MULTILINE).matcher(markdown);
		while (row.find()) {
			names.add(row.group(1));
		}
		return names;
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
