package dev.keypool.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Dockerfile, read as a list of instructions. There is no container engine in CI, so the
 * image's properties that matter at run time are checked here, statically.
 */
class DockerfileTest {

	/** Spring Boot's default layers, in the order of the jar's layers.idx. */
	private static final List<String> LAYERS = List.of("dependencies", "spring-boot-loader", "snapshot-dependencies",
			"application");

	private static final Pattern SECRET_NAME = Pattern.compile("(?i).*(token|secret|password|api_?key|credential).*");

	private final List<Instruction> instructions = parse(Path.of("Dockerfile"));

	@Test
	void buildsOnAJdkAndRunsOnAJreInTwoStages() {
		List<Instruction> froms = all("FROM");

		assertThat(froms).hasSize(2);
		assertThat(froms.get(0).arguments()).endsWith("AS build");
		assertThat(argDefault(froms.get(0).arguments().split("\\s+")[0])).contains("17-jdk");
		assertThat(argDefault(froms.get(1).arguments())).contains("17-jre");
	}

	@Test
	void buildStageUsesTheMavenWrapperAndExtractsTheLayers() {
		List<String> runs = stage(0).stream().filter(i -> i.keyword().equals("RUN")).map(Instruction::arguments).toList();

		assertThat(runs).anySatisfy(run -> assertThat(run).contains("./mvnw", "package"));
		assertThat(runs).anySatisfy(run -> assertThat(run).contains("-Djarmode=tools", "extract --layers"));
	}

	@Test
	void dependencyLayersAreCopiedBeforeTheApplicationLayer() {
		List<String> copied = stage(1).stream()
			.filter(i -> i.keyword().equals("COPY") && i.arguments().startsWith("--from=build"))
			.map(i -> i.arguments().split("\\s+")[1])
			.map(source -> source.replaceAll(".*/extracted/([^/]+)/?$", "$1"))
			.toList();

		assertThat(copied).containsExactlyElementsOf(LAYERS);
	}

	@Test
	void dependenciesAreResolvedBeforeTheSourcesAreCopied() {
		List<Instruction> build = stage(0);
		int goOffline = indexOf(build, i -> i.keyword().equals("RUN") && i.arguments().contains("dependency:go-offline"));
		int sources = indexOf(build, i -> i.keyword().equals("COPY") && i.arguments().startsWith("src/"));
		int pom = indexOf(build, i -> i.keyword().equals("COPY") && i.arguments().contains("pom.xml"));

		assertThat(pom).isLessThan(goOffline);
		assertThat(goOffline).isLessThan(sources);
	}

	@Test
	void runsAsANumericNonRootUser() {
		List<Instruction> users = stage(1).stream().filter(i -> i.keyword().equals("USER")).toList();

		assertThat(users).isNotEmpty();
		String user = users.get(users.size() - 1).arguments();
		assertThat(user).matches("\\d+(:\\d+)?");
		assertThat(Integer.parseInt(user.split(":")[0])).isPositive();
	}

	@Test
	void entrypointIsExecFormSoTheJvmReceivesSigterm() throws IOException {
		Instruction entrypoint = stage(1).stream().filter(i -> i.keyword().equals("ENTRYPOINT")).reduce((a, b) -> b).orElseThrow();

		String[] command = new ObjectMapper().readValue(entrypoint.arguments(), String[].class);
		assertThat(command).startsWith("java").contains("-jar");
	}

	@Test
	void exposesTheApiAndManagementPorts() {
		assertThat(stage(1).stream().filter(i -> i.keyword().equals("EXPOSE")).map(Instruction::arguments).toList())
			.anySatisfy(ports -> assertThat(ports.split("\\s+")).contains("8080", "8081"));
	}

	@Test
	void heapFollowsTheContainerMemoryLimit() {
		assertThat(stage(1).stream().filter(i -> i.keyword().equals("ENV")).map(Instruction::arguments).toList())
			.anySatisfy(env -> assertThat(env).startsWith("JAVA_TOOL_OPTIONS=").contains("-XX:MaxRAMPercentage="));
	}

	@Test
	void bakesInNoSecret() {
		assertThat(this.instructions)
			.filteredOn(i -> i.keyword().equals("ENV") || i.keyword().equals("ARG"))
			.allSatisfy(i -> assertThat(i.arguments().split("[=\\s]")[0]).doesNotMatch(SECRET_NAME));
		assertThat(this.instructions)
			.filteredOn(i -> i.keyword().equals("COPY") || i.keyword().equals("ADD"))
			.allSatisfy(i -> assertThat(i.arguments().toLowerCase(Locale.ROOT)).doesNotContain(".env", "secret", ".pem", ".key"));
	}

	@Test
	void buildContextIsAnAllowListThatLeavesOutGitBuildOutputAndEnvFiles() throws IOException {
		List<String> patterns = Files.readAllLines(Path.of(".dockerignore")).stream()
			.map(String::strip)
			.filter(line -> !line.isEmpty() && !line.startsWith("#"))
			.toList();

		assertThat(patterns.get(0)).isEqualTo("*");
		assertThat(patterns.subList(1, patterns.size())).allSatisfy(p -> assertThat(p).startsWith("!"))
			.noneSatisfy(p -> assertThat(p).containsAnyOf(".git", "target", ".env", "src/test"));
	}

	private List<Instruction> all(String keyword) {
		return this.instructions.stream().filter(i -> i.keyword().equals(keyword)).toList();
	}

	/** Instructions of the n-th stage, from its FROM up to the next. */
	private List<Instruction> stage(int n) {
		List<Instruction> stage = new ArrayList<>();
		int current = -1;
		for (Instruction instruction : this.instructions) {
			if (instruction.keyword().equals("FROM")) {
				current++;
			}
			if (current == n) {
				stage.add(instruction);
			}
		}
		return stage;
	}

	/** The image a FROM names: an ${ARG} is replaced by that ARG's default. */
	private String argDefault(String image) {
		if (!image.startsWith("${")) {
			return image;
		}
		String name = image.substring(2, image.indexOf('}'));
		return all("ARG").stream()
			.map(Instruction::arguments)
			.filter(a -> a.startsWith(name + "="))
			.map(a -> a.substring(name.length() + 1))
			.findFirst()
			.orElseThrow(() -> new AssertionError("no default for ARG " + name));
	}

	private static int indexOf(List<Instruction> instructions, java.util.function.Predicate<Instruction> test) {
		for (int i = 0; i < instructions.size(); i++) {
			if (test.test(instructions.get(i))) {
				return i;
			}
		}
		throw new AssertionError("no such instruction");
	}

	/** Dockerfile instructions, with comments dropped and continuation lines joined. */
	static List<Instruction> parse(Path dockerfile) {
		List<Instruction> instructions = new ArrayList<>();
		StringBuilder current = new StringBuilder();
		try {
			for (String raw : Files.readAllLines(dockerfile)) {
				String line = raw.strip();
				if (line.startsWith("#") || (line.isEmpty() && current.length() == 0)) {
					continue;
				}
				if (line.endsWith("\\")) {
					current.append(line, 0, line.length() - 1).append(' ');
					continue;
				}
				current.append(line);
				String text = current.toString().strip();
				current.setLength(0);
				if (!text.isEmpty()) {
					String[] parts = text.split("\\s+", 2);
					instructions.add(new Instruction(parts[0].toUpperCase(Locale.ROOT), parts.length > 1 ? parts[1].strip() : ""));
				}
			}
		}
		catch (IOException ex) {
			throw new IllegalStateException(ex);
		}
		return instructions;
	}

	record Instruction(String keyword, String arguments) {
	}

}
