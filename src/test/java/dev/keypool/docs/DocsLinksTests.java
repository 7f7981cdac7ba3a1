package dev.keypool.docs;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every relative link in the README, docs/** and the chart's README points at a file that
 * exists and, with a {@code #fragment}, at a heading of that file (GitHub's anchors).
 */
class DocsLinksTests {

	private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");

	private static final Pattern HEADING = Pattern.compile("^#{1,6} (.*)$", Pattern.MULTILINE);

	@Test
	void everyRelativeLinkResolvesToAFileAndAHeading() {
		List<String> broken = new ArrayList<>();
		Map<Path, Set<String>> anchors = new HashMap<>();
		for (Path file : Docs.files()) {
			Matcher link = LINK.matcher(Docs.prose(file));
			while (link.find()) {
				String target = link.group(1);
				if (target.matches("^[a-z]+:.*")) {
					continue; // https:, mailto:
				}
				int hash = target.indexOf('#');
				String pathPart = (hash < 0) ? target : target.substring(0, hash);
				Path resolved = pathPart.isEmpty() ? file : file.toAbsolutePath().getParent().resolve(pathPart).normalize();
				if (!Files.exists(resolved)) {
					broken.add(file + ": " + target + " (no such file)");
					continue;
				}
				if (hash >= 0) {
					String fragment = target.substring(hash + 1);
					Set<String> known = anchors.computeIfAbsent(resolved.toAbsolutePath().normalize(),
							DocsLinksTests::anchors);
					if (!known.contains(fragment)) {
						broken.add(file + ": " + target + " (no such heading)");
					}
				}
			}
		}
		assertThat(broken).as("broken links").isEmpty();
	}

	@Test
	void anchorsAreGitHubs() {
		assertThat(slug("`GET /actuator/keypools`, `GET /actuator/keypools/{pool}`"))
			.isEqualTo("get-actuatorkeypools-get-actuatorkeypoolspool");
		assertThat(slug("Waiting out a short exhaustion: `max-wait`")).isEqualTo("waiting-out-a-short-exhaustion-max-wait");
	}

	/** The anchors GitHub gives the headings of a Markdown file (repeated ones get -1, -2, ...). */
	static Set<String> anchors(Path file) {
		Set<String> anchors = new LinkedHashSet<>();
		if (!file.toString().endsWith(".md")) {
			return anchors;
		}
		Map<String, Integer> seen = new HashMap<>();
		StringBuilder headings = new StringBuilder();
		boolean inBlock = false;
		for (String line : Docs.read(file).lines().toList()) {
			if (line.startsWith("```")) {
				inBlock = !inBlock;
			}
			else if (!inBlock) {
				headings.append(line).append('\n');
			}
		}
		Matcher heading = HEADING.matcher(headings);
		while (heading.find()) {
			String slug = slug(heading.group(1));
			int count = seen.merge(slug, 1, Integer::sum);
			anchors.add((count == 1) ? slug : slug + "-" + (count - 1));
		}
		return anchors;
	}

	static String slug(String heading) {
		return heading.trim()
			.toLowerCase(Locale.ROOT)
			.replaceAll("[^\\p{L}\\p{N} _-]", "")
			.replace(' ', '-');
	}

}
