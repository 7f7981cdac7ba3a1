package dev.keypool.config;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.reader.UnicodeReader;

import org.springframework.boot.env.PropertySourceLoader;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.Ordered;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.Resource;

/**
 * Spring Boot's YAML loader with limits. Boot reads configuration files with unlimited aliases
 * ({@code maxAliasesForCollections} at {@code Integer.MAX_VALUE}) and no size limit, so a
 * "billion laughs" file of a few hundred bytes, whose aliases expand exponentially while Boot
 * flattens it into properties, runs the heap out, at startup and at every reload.
 * <p>
 * Each YAML file is first composed (SnakeYAML's node graph, where an alias stays one reference
 * and nothing expands) with bounds: at most {@value #MAX_FILE_SIZE} bytes, checked before
 * reading; at most {@value #MAX_ALIASES} aliases to a list or map; at most
 * {@value #MAX_NESTING} levels of nesting; at most {@value #MAX_EXPANDED_VALUES} values once aliases
 * are followed; no collection that contains itself through an alias.
 * A file within them is then loaded by Boot's own {@link YamlPropertySourceLoader}, so origin
 * tracking, the refusal of duplicate keys and every other behaviour stay Boot's. A file outside
 * them stops startup (or is refused at reload) with one {@link UnsafeYamlException} line.
 * Ordered first, so Boot uses it for {@code .yaml} and {@code .yml} instead of its own.
 */
public class BoundedYamlPropertySourceLoader implements PropertySourceLoader, Ordered {

	/** The largest configuration file read: 1 MiB, the most a Kubernetes ConfigMap or Secret holds. */
	public static final long MAX_FILE_SIZE = 1024 * 1024;

	/** Aliases to collections per file; real configuration files use a handful at most. */
	public static final int MAX_ALIASES = 50;

	/** Levels of nesting; {@code keypool.pools.<pool>.keys[i].secret} is six. */
	public static final int MAX_NESTING = 50;

	/**
	 * Values a file may expand to once every alias is followed, as Boot's flattening does: a few
	 * aliases nested a few levels deep multiply (16 levels of three aliases are 48 aliases and
	 * 43 million values), so the alias count alone does not bound it. Real files have hundreds.
	 */
	public static final long MAX_EXPANDED_VALUES = 100_000;

	private final YamlPropertySourceLoader boot = new YamlPropertySourceLoader();

	@Override
	public String[] getFileExtensions() {
		return this.boot.getFileExtensions();
	}

	@Override
	public int getOrder() {
		return Ordered.HIGHEST_PRECEDENCE;
	}

	@Override
	public List<PropertySource<?>> load(String name, Resource resource) throws IOException {
		check(resource);
		return this.boot.load(name, resource);
	}

	/** Refuses a file outside the limits; reads nothing of one that is too large. */
	static void check(Resource resource) throws IOException {
		String file = resource.getDescription();
		long size = size(resource);
		if (size > MAX_FILE_SIZE) {
			throw new UnsafeYamlException(file, "it is " + size + " bytes, over the limit of " + MAX_FILE_SIZE);
		}
		LoaderOptions options = new LoaderOptions();
		options.setMaxAliasesForCollections(MAX_ALIASES);
		options.setNestingDepthLimit(MAX_NESTING);
		options.setCodePointLimit((int) MAX_FILE_SIZE);
		try (InputStream in = resource.getInputStream(); Reader reader = new UnicodeReader(in)) {
			for (Node document : new Yaml(options).composeAll(reader)) {
				expandedSize(file, document, Collections.newSetFromMap(new IdentityHashMap<>()), new IdentityHashMap<>());
			}
		}
		catch (MarkedYAMLException ex) {
			// a syntax error, not a limit: Boot's loader reports it as it always did
		}
		catch (YAMLException ex) {
			// SnakeYAML's limit messages name the limit only, never the file's content
			throw new UnsafeYamlException(file, limit(ex));
		}
	}

	private static long size(Resource resource) {
		try {
			return resource.contentLength();
		}
		catch (IOException ex) {
			// unknown: the code point limit still bounds what is read
			return -1;
		}
	}

	private static String limit(YAMLException ex) {
		String message = String.valueOf(ex.getMessage());
		if (message.startsWith("Number of aliases")) {
			return "more than " + MAX_ALIASES + " aliases to lists or maps (an alias bomb?)";
		}
		if (message.startsWith("Nesting Depth")) {
			return "nested more than " + MAX_NESTING + " levels deep";
		}
		if (message.contains("exceeds the limit")) {
			return "over the limit of " + MAX_FILE_SIZE + " characters";
		}
		return "it cannot be read safely (" + ex.getClass().getSimpleName() + ")";
	}

	/**
	 * How many values {@code node} becomes with its aliases followed, each shared node counted
	 * once per use but measured once. Refuses a list or map that contains itself (Boot's
	 * flattening would recurse without end) and a file that expands past
	 * {@link #MAX_EXPANDED_VALUES}.
	 */
	private static long expandedSize(String file, Node node, Set<Node> path, Map<Node, Long> sizes) {
		Long known = sizes.get(node);
		if (known != null) {
			return known;
		}
		if (!path.add(node)) {
			throw new UnsafeYamlException(file, "a list or map contains itself through an alias");
		}
		long size = 1;
		if (node instanceof MappingNode mapping) {
			for (NodeTuple tuple : mapping.getValue()) {
				size += expandedSize(file, tuple.getKeyNode(), path, sizes)
						+ expandedSize(file, tuple.getValueNode(), path, sizes);
				refuseExpansion(file, size);
			}
		}
		else if (node instanceof SequenceNode sequence) {
			for (Node item : sequence.getValue()) {
				size += expandedSize(file, item, path, sizes);
				refuseExpansion(file, size);
			}
		}
		path.remove(node);
		sizes.put(node, size);
		return size;
	}

	private static void refuseExpansion(String file, long size) {
		if (size > MAX_EXPANDED_VALUES) {
			throw new UnsafeYamlException(file,
					"its aliases expand to more than " + MAX_EXPANDED_VALUES + " values (an alias bomb?)");
		}
	}

}
