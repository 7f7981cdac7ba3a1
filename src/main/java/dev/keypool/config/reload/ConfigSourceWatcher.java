package dev.keypool.config.reload;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.keypool.config.BoundedYamlPropertySourceLoader;

import org.springframework.cloud.context.environment.EnvironmentChangeEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.context.SmartLifecycle;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.PropertySource;
import org.springframework.util.StringUtils;

/**
 * Notices when a configuration file or config tree the gateway was started from changes, and
 * then has the environment refreshed. Watched: every file and directory named by
 * {@code spring.config.import} (including {@code configtree:} directories),
 * {@code spring.config.additional-location} and {@code spring.config.location}; classpath
 * locations never change and are not watched.
 * <p>
 * Every {@code keypool.reload.interval} the watcher digests the content of those files (a
 * directory: every file under it, following symbolic links). Comparing content rather than
 * modification times makes a Kubernetes Secret update visible however kubelet performs it:
 * it writes a new timestamped directory and swaps the {@code ..data} link to it, so the
 * files' own links never change, only what they lead to. Entries whose name starts with
 * {@code ..} are kubelet's bookkeeping and are skipped, as Spring's config tree skips them.
 * The digest is kept in memory only and the contents are never logged.
 * <p>
 * A change is acted on only once it has settled: the same digest on two consecutive looks. A
 * file caught while it is being written (which may well be valid YAML, only shorter) is
 * therefore never read as the configuration; a file that changes at every look is not read
 * until it stops. A file larger than {@link #MAX_FILE_SIZE} is never read at all: the look is
 * counted as a refused reload. Whatever a look throws, {@link Error}s included, is logged by
 * type only, counted as refused, and the next look happens as planned.
 */
public class ConfigSourceWatcher implements SmartLifecycle, ApplicationListener<EnvironmentChangeEvent> {

	private static final Logger logger = LoggerFactory.getLogger(ConfigSourceWatcher.class);

	private static final List<String> LOCATION_PROPERTIES = List.of("spring.config.import",
			"spring.config.additional-location", "spring.config.location");

	/** Deep enough for a config tree of nested names; a configuration is not a file system. */
	private static final int MAX_DEPTH = 4;

	/**
	 * The largest configuration file read, the same as for YAML files at startup: a larger one
	 * is refused, and its content never read.
	 */
	public static final long MAX_FILE_SIZE = BoundedYamlPropertySourceLoader.MAX_FILE_SIZE;

	private final List<Path> watched;

	private final Runnable refresh;

	private final Runnable refused;

	private final Duration interval;

	private final FileReader reader;

	/** The digest of what was last refreshed, {@code null} to refresh at the next stable look. */
	private volatile byte[] lastDigest;

	/** A changed digest seen once; refreshed when the next look sees it again. Guarded by {@code this}. */
	private byte[] pendingDigest;

	/** Set while this watcher's own refresh runs; guarded by {@code this}. */
	private boolean refreshing;

	private volatile ScheduledExecutorService scheduler;

	/**
	 * @param watched the files and directories to watch
	 * @param refresh refreshes the environment (Spring Cloud's {@code ContextRefresher})
	 * @param interval how often to look; zero for never (only {@link #check()} looks)
	 */
	public ConfigSourceWatcher(List<Path> watched, Runnable refresh, Duration interval) {
		this(watched, refresh, () -> {
		}, interval);
	}

	/**
	 * @param watched the files and directories to watch
	 * @param refresh refreshes the environment (Spring Cloud's {@code ContextRefresher})
	 * @param refused counts a look that was refused (a file too large, a look that failed)
	 * @param interval how often to look; zero for never (only {@link #check()} looks)
	 */
	public ConfigSourceWatcher(List<Path> watched, Runnable refresh, Runnable refused, Duration interval) {
		this(watched, refresh, refused, interval, ConfigSourceWatcher::read);
	}

	ConfigSourceWatcher(List<Path> watched, Runnable refresh, Runnable refused, Duration interval,
			FileReader reader) {
		this.watched = List.copyOf(watched);
		this.refresh = refresh;
		this.refused = refused;
		this.interval = interval;
		this.reader = reader;
		byte[] initial;
		try {
			initial = digest();
		}
		catch (OversizeFileException | RuntimeException ex) {
			// startup read these files already; the first stable look decides
			initial = null;
		}
		this.lastDigest = initial;
	}

	/** The local files and directories the environment's configuration locations name. */
	public static List<Path> locations(ConfigurableEnvironment environment) {
		Set<Path> paths = new LinkedHashSet<>();
		for (PropertySource<?> source : environment.getPropertySources()) {
			if (!(source instanceof EnumerablePropertySource<?> enumerable)) {
				continue;
			}
			for (String name : enumerable.getPropertyNames()) {
				if (!isLocationProperty(name)) {
					continue;
				}
				Object value = enumerable.getProperty(name);
				if (value == null) {
					continue;
				}
				String resolved = environment.resolvePlaceholders(value.toString());
				for (String location : StringUtils.commaDelimitedListToStringArray(resolved)) {
					Path path = localPath(location.trim());
					if (path != null) {
						paths.add(path);
					}
				}
			}
		}
		return new ArrayList<>(paths);
	}

	private static boolean isLocationProperty(String name) {
		for (String property : LOCATION_PROPERTIES) {
			if (name.equals(property) || (name.startsWith(property + "[") && name.endsWith("]"))) {
				return true;
			}
		}
		return false;
	}

	/** The local path of one location, or {@code null} for classpath and remote ones. */
	static Path localPath(String location) {
		String rest = location;
		if (rest.startsWith("optional:")) {
			rest = rest.substring("optional:".length());
		}
		if (rest.startsWith("configtree:")) {
			rest = rest.substring("configtree:".length());
		}
		if (rest.startsWith("file:")) {
			rest = rest.substring("file:".length());
		}
		else if (rest.isEmpty() || rest.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*") && !rest.matches("^[a-zA-Z]:[\\\\/].*")) {
			// classpath:, http:, kubernetes:, ... (a Windows drive letter is a path)
			return null;
		}
		// an extension hint: /etc/config/app[.yaml]
		int hint = rest.lastIndexOf('[');
		if (hint > 0 && rest.endsWith("]")) {
			rest = rest.substring(0, hint);
		}
		return rest.isEmpty() ? null : Path.of(rest).toAbsolutePath().normalize();
	}

	/**
	 * Looks once: when the watched files changed since the last refresh and are the same as at
	 * the previous look, refreshes the environment. What the scheduled check runs; tests call it
	 * to drive the interval.
	 *
	 * @return whether a settled change was found and a refresh run
	 */
	public synchronized boolean check() {
		byte[] digest;
		try {
			digest = digest();
		}
		catch (OversizeFileException ex) {
			refuseOversize(ex);
			return false;
		}
		if (Arrays.equals(digest, this.lastDigest)) {
			this.pendingDigest = null;
			return false;
		}
		if (!Arrays.equals(digest, this.pendingDigest)) {
			// changed since the last look: perhaps still being written, read it once it settled
			this.pendingDigest = digest;
			return false;
		}
		this.pendingDigest = null;
		this.lastDigest = digest;
		logger.info("A configuration file changed: reloading the configuration");
		this.refreshing = true;
		try {
			this.refresh.run();
		}
		finally {
			this.refreshing = false;
		}
		if (!Arrays.equals(digestOrNull(), digest)) {
			// written again while it was read: read it once more when it settled
			this.lastDigest = null;
		}
		return true;
	}

	private byte[] digestOrNull() {
		try {
			return digest();
		}
		catch (OversizeFileException | RuntimeException ex) {
			return null;
		}
	}

	/** The same oversize file is refused (and counted) once, not at every look. */
	private void refuseOversize(OversizeFileException ex) {
		byte[] marker = ex.marker();
		if (Arrays.equals(marker, this.lastDigest)) {
			return;
		}
		this.lastDigest = marker;
		this.pendingDigest = null;
		this.refused.run();
		logger.error("Configuration reload refused: {} is {} bytes, over the limit of {} bytes; it was not read "
				+ "and the running configuration stays", ex.file(), ex.size(), MAX_FILE_SIZE);
	}

	/**
	 * A refresh from elsewhere ({@code POST /actuator/refresh}) that changed something read the
	 * files as they were then, which the last digest may not describe: the next settled look
	 * refreshes once more, so a file put back to its earlier content is not missed. Nothing is
	 * counted if it is unchanged. A refresh that changed nothing (or was refused and put back)
	 * left the configuration the last digest describes.
	 */
	@Override
	public void onApplicationEvent(EnvironmentChangeEvent event) {
		if ((Thread.holdsLock(this) && this.refreshing) || event.getKeys().isEmpty()) {
			return;
		}
		this.lastDigest = null;
	}

	private byte[] digest() throws OversizeFileException {
		MessageDigest sha256 = sha256();
		for (Path root : this.watched) {
			update(sha256, "root:" + root);
			List<Path> files;
			try {
				files = watchedFiles(root);
			}
			catch (IOException | RuntimeException ex) {
				// a directory swapped while being walked: the next look sees it whole
				update(sha256, "unreadable:" + ex.getClass().getName());
				continue;
			}
			for (Path file : files) {
				digestFile(sha256, root.relativize(file).toString(), file);
			}
		}
		return sha256.digest();
	}

	/**
	 * The files a watched location stands for: itself, or the regular files of a directory
	 * (links followed, kubelet's {@code ..*} entries skipped), in a stable order.
	 */
	private static List<Path> watchedFiles(Path root) throws IOException {
		if (!Files.isDirectory(root)) {
			return List.of(root);
		}
		try (Stream<Path> files = Files.walk(root, MAX_DEPTH, FileVisitOption.FOLLOW_LINKS)) {
			return files.filter((file) -> !isHidden(root.relativize(file))).filter(Files::isRegularFile).sorted().toList();
		}
	}

	private static boolean isHidden(Path relative) {
		for (Path segment : relative) {
			if (segment.toString().startsWith("..")) {
				return true;
			}
		}
		return false;
	}

	private void digestFile(MessageDigest sha256, String name, Path file) throws OversizeFileException {
		update(sha256, "file:" + name);
		try {
			sha256.update(this.reader.read(file));
		}
		catch (IOException ex) {
			update(sha256, "missing");
		}
	}

	/**
	 * The first file under the given locations that is over {@link #MAX_FILE_SIZE}, found by
	 * size alone (nothing is read), or {@code null}.
	 */
	static OversizeFileException oversize(List<Path> locations) {
		for (Path root : locations) {
			List<Path> files;
			try {
				files = watchedFiles(root);
			}
			catch (IOException | RuntimeException ex) {
				continue;
			}
			for (Path file : files) {
				try {
					long size = Files.size(file);
					if (size > MAX_FILE_SIZE) {
						return new OversizeFileException(file, size);
					}
				}
				catch (IOException ex) {
					// missing: nothing to read
				}
			}
		}
		return null;
	}

	/** Reads a file whole, after checking its size: a file too large is never read. */
	static byte[] read(Path file) throws IOException, OversizeFileException {
		long size = Files.size(file);
		if (size > MAX_FILE_SIZE) {
			throw new OversizeFileException(file, size);
		}
		try (var in = Files.newInputStream(file)) {
			// bounded again: the file may grow between the size check and the read
			byte[] content = in.readNBytes((int) MAX_FILE_SIZE + 1);
			if (content.length > MAX_FILE_SIZE) {
				throw new OversizeFileException(file, content.length);
			}
			return content;
		}
	}

	private static void update(MessageDigest sha256, String text) {
		sha256.update(text.getBytes(StandardCharsets.UTF_8));
		sha256.update((byte) 0);
	}

	private static MessageDigest sha256() {
		try {
			return MessageDigest.getInstance("SHA-256");
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException("SHA-256 is required of every JVM", ex);
		}
	}

	/**
	 * What the timer runs. Nothing may escape: a scheduled task that throws is never run again,
	 * and the gateway would silently stop reloading.
	 */
	void checkQuietly() {
		try {
			check();
		}
		catch (Throwable ex) {
			// the type only: a message may quote the file
			logger.error("Configuration reload refused: checking the configuration files failed ({}); "
					+ "the running configuration stays", ex.getClass().getName());
			try {
				this.refused.run();
			}
			catch (Throwable ignored) {
				// counting must not stop the watcher either
			}
		}
	}

	@Override
	public void start() {
		if (this.interval.isZero() || this.watched.isEmpty() || this.scheduler != null) {
			return;
		}
		this.scheduler = Executors.newSingleThreadScheduledExecutor((task) -> {
			Thread thread = new Thread(task, "keypool-config-watcher");
			thread.setDaemon(true);
			return thread;
		});
		long millis = this.interval.toMillis();
		this.scheduler.scheduleWithFixedDelay(this::checkQuietly, millis, millis, TimeUnit.MILLISECONDS);
		logger.debug("Watching {} configuration location(s) every {}", this.watched.size(), this.interval);
	}

	@Override
	public void stop() {
		ScheduledExecutorService running = this.scheduler;
		if (running != null) {
			running.shutdownNow();
			this.scheduler = null;
		}
	}

	@Override
	public boolean isRunning() {
		return this.scheduler != null;
	}

	/** The paths watched, for the startup log and tests. */
	public List<Path> watched() {
		return this.watched;
	}

	/** Reads one watched file; tests give one that fails. */
	@FunctionalInterface
	interface FileReader {

		byte[] read(Path file) throws IOException, OversizeFileException;

	}

	/** A watched file over {@link #MAX_FILE_SIZE}: the look ends unread. */
	static final class OversizeFileException extends Exception {

		private final Path file;

		private final long size;

		OversizeFileException(Path file, long size) {
			super(null, null, false, false);
			this.file = file;
			this.size = size;
		}

		Path file() {
			return this.file;
		}

		long size() {
			return this.size;
		}

		/** Stands for the refused state in place of a digest, so it is counted once. */
		byte[] marker() {
			return ("oversize:" + this.file + ":" + this.size).getBytes(StandardCharsets.UTF_8);
		}

	}

}
