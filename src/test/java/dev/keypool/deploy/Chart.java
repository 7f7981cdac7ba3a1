package dev.keypool.deploy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.InstallCommand;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import org.yaml.snakeyaml.Yaml;

/**
 * The Helm chart under {@code helm/keypool-gateway}, rendered by the Helm engine that helm-java
 * bundles, with the manifests read back as typed fabric8 objects.
 */
final class Chart {

	static final Path DIRECTORY = Path.of("helm", "keypool-gateway");

	static final String RELEASE = "kp";

	static final String NAMESPACE = "llm";

	/** Fullname of the release: release name + chart name. */
	static final String FULLNAME = "kp-keypool-gateway";

	private static final Pattern DOCUMENT_SEPARATOR = Pattern.compile("(?m)^---\\s*$");

	private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

	private static Rendered defaults;

	private Chart() {
	}

	/** Follows a path of map keys through parsed YAML; null when a key is missing. */
	@SuppressWarnings("unchecked")
	static <T> T at(Object tree, String... keys) {
		Object node = tree;
		for (String key : keys) {
			if (!(node instanceof Map<?, ?> map)) {
				return null;
			}
			node = map.get(key);
		}
		return (T) node;
	}

	static Helm helm() {
		if (!Files.isDirectory(DIRECTORY)) {
			throw new IllegalStateException("chart not found at " + DIRECTORY.toAbsolutePath());
		}
		return new Helm(DIRECTORY);
	}

	/** The chart rendered with its default values (rendered once, shared by the tests). */
	static synchronized Rendered renderDefaults() {
		if (defaults == null) {
			defaults = render(Map.of());
		}
		return defaults;
	}

	/** Renders the chart with {@code --set} style overrides. */
	static Rendered render(Map<String, ?> values) {
		return render(values, null);
	}

	/** Renders the chart with a values file (may be null) and {@code --set} style overrides. */
	static Rendered render(Map<String, ?> values, Path valuesFile) {
		TemplateCommand command = helm().template().withName(RELEASE).withNamespace(NAMESPACE);
		if (valuesFile != null) {
			command = command.withValuesFile(valuesFile);
		}
		for (Map.Entry<String, ?> value : new LinkedHashMap<>(values).entrySet()) {
			command = command.set(value.getKey(), value.getValue());
		}
		return new Rendered(command.call());
	}

	/** Renders the chart with several values files, later ones overriding earlier ones, as {@code -f a -f b}. */
	static Rendered render(List<Path> valuesFiles) {
		TemplateCommand command = helm().template().withName(RELEASE).withNamespace(NAMESPACE);
		for (Path valuesFile : valuesFiles) {
			command = command.withValuesFile(valuesFile);
		}
		return new Rendered(command.call());
	}

	/** The release notes ({@code NOTES.txt}) of a client-side dry-run install. */
	static String notes(Map<String, ?> values) {
		InstallCommand command = helm().install()
			.withName(RELEASE)
			.withNamespace(NAMESPACE)
			.clientOnly()
			.dryRun();
		for (Map.Entry<String, ?> value : new LinkedHashMap<>(values).entrySet()) {
			command = command.set(value.getKey(), value.getValue());
		}
		return command.call().getOutput();
	}

	/** One {@code helm template} output. */
	record Rendered(String yaml, List<HasMetadata> objects) {

		Rendered(String yaml) {
			this(yaml, parse(yaml));
		}

		private static List<HasMetadata> parse(String yaml) {
			List<HasMetadata> objects = new ArrayList<>();
			for (String document : DOCUMENT_SEPARATOR.split(yaml)) {
				boolean empty = document.lines().map(String::strip)
					.allMatch(line -> line.isEmpty() || line.startsWith("#"));
				if (!empty) {
					objects.add(SERIALIZATION.unmarshal(document, HasMetadata.class));
				}
			}
			return List.copyOf(objects);
		}

		<T extends HasMetadata> List<T> all(Class<T> type) {
			return this.objects.stream().filter(type::isInstance).map(type::cast).toList();
		}

		<T extends HasMetadata> Optional<T> find(Class<T> type, String name) {
			return all(type).stream().filter(o -> o.getMetadata().getName().equals(name)).findFirst();
		}

		<T extends HasMetadata> T get(Class<T> type, String name) {
			return find(type, name).orElseThrow(() -> new AssertionError(
					"no " + type.getSimpleName() + " named " + name + " in:\n" + this.yaml));
		}

		/** Objects of a kind that has no fabric8 model here (ServiceMonitor, PrometheusRule). */
		List<GenericKubernetesResource> custom(String kind) {
			return this.objects.stream()
				.filter(o -> o instanceof GenericKubernetesResource && kind.equals(o.getKind()))
				.map(GenericKubernetesResource.class::cast)
				.toList();
		}

		/** The gateway's application.yaml, as the ConfigMap carries it. */
		String applicationYaml() {
			return get(ConfigMap.class, FULLNAME).getData().get("application.yaml");
		}

		/** The gateway's application.yaml, parsed. */
		Map<String, Object> applicationConfig() {
			return new Yaml().load(applicationYaml());
		}

		Deployment deployment() {
			return get(Deployment.class, FULLNAME);
		}

		Container gatewayContainer() {
			return deployment().getSpec().getTemplate().getSpec().getContainers().stream()
				.filter(c -> c.getName().equals("gateway"))
				.findFirst()
				.orElseThrow();
		}

		List<String> kinds() {
			return this.objects.stream().map(HasMetadata::getKind).toList();
		}

	}

}
