package dev.keypool;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiPredicate;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Dependencies point inward (README, Development). Read from the sources' imports, so a violation fails
 * the build with the offending file and import named.
 */
class PackageDependencyTests {

	private static final Path MAIN = Path.of("src/main/java/dev/keypool");

	private static final Pattern IMPORT = Pattern.compile("^import (?:static )?([\\w.]+)", Pattern.MULTILINE);

	/** Which project packages each package may import; config may import all. */
	private static final Map<String, Set<String>> ALLOWED = Map.of("pool", Set.of(), "provider", Set.of("pool"),
			"gateway", Set.of("pool", "provider", "usage", "budget", "tracing"), "state", Set.of("pool"), "actuate",
			Set.of("pool", "budget"), "metrics", Set.of("pool"), "demo", Set.of(), "usage", Set.of("pool"), "budget",
			Set.of("usage"), "tracing", Set.of("pool"));

	static Stream<String> packages() {
		return ALLOWED.keySet().stream().sorted();
	}

	@ParameterizedTest
	@MethodSource("packages")
	void packageImportsOnlyWhatItMayUse(String pkg) throws IOException {
		assertThat(importsOf(pkg, (imported) -> {
			if (!imported.startsWith("dev.keypool.")) {
				return true;
			}
			String target = imported.substring("dev.keypool.".length()).split("\\.")[0];
			return target.equals(pkg) || ALLOWED.get(pkg).contains(target);
		})).isEmpty();
	}

	/**
	 * Provider sub-packages that speak to one provider through its own library (a signer, a token
	 * source), and the library each may use besides the JDK; the dialect seam itself stays JDK-only.
	 */
	private static final Map<String, List<String>> PROVIDER_LIBRARIES = Map.of("bedrock",
			List.of("software.amazon."), "vertex", List.of("com.google.auth."));

	@ParameterizedTest
	@ValueSource(strings = { "pool", "provider" })
	void coreUsesOnlyTheJdk(String pkg) throws IOException {
		assertThat(importsOf(pkg, (file, imported) -> imported.startsWith("java.")
				|| imported.startsWith("dev.keypool.") || providerLibraries(file).stream().anyMatch(imported::startsWith)))
			.isEmpty();
	}

	private static List<String> providerLibraries(Path file) {
		Path relative = MAIN.resolve("provider").relativize(file);
		if (relative.startsWith("..") || relative.getNameCount() < 2) {
			return List.of();
		}
		return PROVIDER_LIBRARIES.getOrDefault(relative.getName(0).toString(), List.of());
	}

	/** Every import of the package's sources that {@code allowed} rejects, with its file. */
	private static Set<String> importsOf(String pkg, Predicate<String> allowed) throws IOException {
		return importsOf(pkg, (file, imported) -> allowed.test(imported));
	}

	private static Set<String> importsOf(String pkg, BiPredicate<Path, String> allowed) throws IOException {
		Set<String> violations = new TreeSet<>();
		for (Path file : javaFiles(MAIN.resolve(pkg))) {
			Matcher imports = IMPORT.matcher(Files.readString(file));
			while (imports.find()) {
				if (!allowed.test(file, imports.group(1))) {
					violations.add(file.getFileName() + " imports " + imports.group(1));
				}
			}
		}
		return violations;
	}

	private static List<Path> javaFiles(Path dir) throws IOException {
		try (Stream<Path> files = Files.walk(dir)) {
			return files.filter((file) -> file.toString().endsWith(".java")).toList();
		}
	}

}
