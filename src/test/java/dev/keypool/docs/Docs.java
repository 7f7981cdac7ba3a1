package dev.keypool.docs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** The repository's Markdown documentation: the README, docs/** and the chart's README. */
public final class Docs {

	private Docs() {
	}

	public static List<Path> files() {
		List<Path> files = new ArrayList<>(List.of(Path.of("README.md"), Path.of("helm/keypool-gateway/README.md")));
		try (Stream<Path> docs = Files.walk(Path.of("docs"))) {
			docs.filter((path) -> path.toString().endsWith(".md")).sorted().forEach(files::add);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		return files;
	}

	/** A fenced code block: its info string, its text, and the line its fence opens on. */
	public record Block(Path file, int line, String info, String text) {

		@Override
		public String toString() {
			return this.file + ":" + this.line;
		}

	}

	public static List<Block> blocks(Path file) {
		List<Block> blocks = new ArrayList<>();
		List<String> lines = read(file).lines().toList();
		for (int i = 0; i < lines.size(); i++) {
			String line = lines.get(i);
			if (line.startsWith("```")) {
				int open = i;
				StringBuilder text = new StringBuilder();
				for (i++; i < lines.size() && !lines.get(i).startsWith("```"); i++) {
					text.append(lines.get(i)).append('\n');
				}
				blocks.add(new Block(file, open + 1, line.substring(3).trim(), text.toString()));
			}
		}
		return blocks;
	}

	/** The text outside fenced code blocks and inline code spans. */
	public static String prose(Path file) {
		StringBuilder prose = new StringBuilder();
		boolean inBlock = false;
		for (String line : read(file).lines().toList()) {
			if (line.startsWith("```")) {
				inBlock = !inBlock;
				prose.append('\n');
				continue;
			}
			prose.append(inBlock ? "" : line.replaceAll("`[^`]*`", "``")).append('\n');
		}
		return prose.toString();
	}

	static String read(Path file) {
		try {
			return Files.readString(file);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

}
