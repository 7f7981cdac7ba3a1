package dev.keypool.config.reload;

import java.util.List;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.cloud.autoconfigure.RefreshAutoConfiguration.RefreshProperties;
import org.springframework.cloud.context.refresh.ConfigDataContextRefresher;
import org.springframework.cloud.context.scope.refresh.RefreshScope;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.core.env.PropertySource;

/**
 * Spring Cloud's refresher ({@code POST /actuator/refresh} and the file watcher both use it)
 * with one more step: the re-read configuration files are checked before anything sees them.
 * A refreshed environment that {@link KeypoolReloader#problems()} refuses is put back as it was
 * before the refresh, so the refused file reaches neither the pools nor the routes (Spring
 * Cloud would otherwise rebind the gateway's routes from it whatever the pools say). A file
 * over {@link ConfigSourceWatcher#MAX_FILE_SIZE} under a watched location is refused before
 * anything is read.
 */
class GuardedContextRefresher extends ConfigDataContextRefresher {

	private final ObjectProvider<KeypoolReloader> reloader;

	GuardedContextRefresher(ConfigurableApplicationContext context, RefreshScope scope, RefreshProperties properties,
			ObjectProvider<KeypoolReloader> reloader) {
		super(context, scope, properties);
		this.reloader = reloader;
	}

	@Override
	protected void updateEnvironment() {
		KeypoolReloader keypool = this.reloader.getIfAvailable();
		if (keypool == null) {
			super.updateEnvironment();
			return;
		}
		ConfigurableEnvironment environment = getContext().getEnvironment();
		ConfigSourceWatcher.OversizeFileException oversize = ConfigSourceWatcher
			.oversize(ConfigSourceWatcher.locations(environment));
		if (oversize != null) {
			keypool.refusedUnread(oversize.file() + " is " + oversize.size() + " bytes, over the limit of "
					+ ConfigSourceWatcher.MAX_FILE_SIZE + " bytes; it was not read");
			return;
		}
		List<PropertySource<?>> before = environment.getPropertySources().stream().toList();
		try {
			super.updateEnvironment();
		}
		catch (RuntimeException | Error ex) {
			restore(environment.getPropertySources(), before);
			keypool.refusedUnreadable(ex);
			return;
		}
		List<String> problems = keypool.problems();
		if (!problems.isEmpty()) {
			// logged first: each line names where its property is set in the refused files
			keypool.refuse(problems);
			restore(environment.getPropertySources(), before);
		}
	}

	/** Puts the property sources back as they were, each in place, so no reader sees a gap. */
	private static void restore(MutablePropertySources sources, List<PropertySource<?>> before) {
		List<String> names = before.stream().map(PropertySource::getName).toList();
		sources.stream()
			.map(PropertySource::getName)
			.filter((name) -> !names.contains(name))
			.toList()
			.forEach(sources::remove);
		for (int i = 0; i < before.size(); i++) {
			PropertySource<?> source = before.get(i);
			if (sources.contains(source.getName())) {
				if (sources.get(source.getName()) != source) {
					sources.replace(source.getName(), source);
				}
			}
			else if (i == 0) {
				sources.addFirst(source);
			}
			else {
				sources.addAfter(before.get(i - 1).getName(), source);
			}
		}
	}

}
