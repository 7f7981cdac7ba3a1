package dev.keypool.config.reload;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class ConfigSourceWatcherTests {

	@TempDir
	Path directory;

	private final AtomicInteger refreshes = new AtomicInteger();

	@Test
	void aChangedFileRefreshesOnceAndAnUnchangedOneNever() throws IOException {
		Path file = this.directory.resolve("keypool.yaml");
		Files.writeString(file, "keypool.admin.token: a");
		ConfigSourceWatcher watcher = new ConfigSourceWatcher(List.of(file), this.refreshes::incrementAndGet,
				Duration.ZERO);

		assertThat(watcher.check()).isFalse();
		Files.writeString(file, "keypool.admin.token: b");

		assertThat(watcher.check()).as("first seen: perhaps still being written").isFalse();
		assertThat(watcher.check()).as("the same at the next look").isTrue();
		assertThat(watcher.check()).isFalse();
		assertThat(this.refreshes).hasValue(1);
	}

	@Test
	void aSwapOfKubeletsDataLinkIsAChangeEvenThoughNoVisibleLinkChanged() throws IOException {
		Path first = Files.createDirectory(this.directory.resolve("..2026_01_01_00_00_01.1"));
		Files.writeString(first.resolve("k0-secret"), "old");
		Files.createSymbolicLink(this.directory.resolve("..data"), first.getFileName());
		Files.createSymbolicLink(this.directory.resolve("k0-secret"), Path.of("..data/k0-secret"));
		ConfigSourceWatcher watcher = new ConfigSourceWatcher(List.of(this.directory), this.refreshes::incrementAndGet,
				Duration.ZERO);

		Path second = Files.createDirectory(this.directory.resolve("..2026_01_01_00_00_02.2"));
		Files.writeString(second.resolve("k0-secret"), "new");
		Path tmp = Files.createSymbolicLink(this.directory.resolve("..data_tmp"), second.getFileName());
		Files.move(tmp, this.directory.resolve("..data"), StandardCopyOption.ATOMIC_MOVE,
				StandardCopyOption.REPLACE_EXISTING);

		assertThat(settled(watcher)).isTrue();
	}

	@Test
	void kubeletsHiddenEntriesAloneAreNoChange() throws IOException {
		Files.writeString(this.directory.resolve("k0-secret"), "value");
		ConfigSourceWatcher watcher = new ConfigSourceWatcher(List.of(this.directory), this.refreshes::incrementAndGet,
				Duration.ZERO);

		Files.createDirectory(this.directory.resolve("..2026_01_01_00_00_03.3"));
		Files.writeString(this.directory.resolve("..2026_01_01_00_00_03.3").resolve("unused"), "x");

		assertThat(watcher.check()).isFalse();
	}

	@Test
	void aFileThatAppearsOrDisappearsIsAChange() throws IOException {
		Path file = this.directory.resolve("optional.yaml");
		ConfigSourceWatcher watcher = new ConfigSourceWatcher(List.of(file), this.refreshes::incrementAndGet,
				Duration.ZERO);

		Files.writeString(file, "keypool.admin.token: a");
		assertThat(settled(watcher)).isTrue();
		Files.delete(file);
		assertThat(settled(watcher)).isTrue();
	}

	@Test
	void theTimerLooksEveryInterval() throws IOException {
		Path file = this.directory.resolve("keypool.yaml");
		Files.writeString(file, "a");
		ConfigSourceWatcher watcher = new ConfigSourceWatcher(List.of(file), this.refreshes::incrementAndGet,
				Duration.ofMillis(20));
		watcher.start();
		try {
			Files.writeString(file, "b");
			await().atMost(Duration.ofSeconds(5)).until(() -> this.refreshes.get() == 1);
		}
		finally {
			watcher.stop();
		}
		assertThat(watcher.isRunning()).isFalse();
	}

	@Test
	void aRefreshFromElsewhereMakesTheNextLookRefreshAgain() throws IOException {
		Path file = this.directory.resolve("keypool.yaml");
		Files.writeString(file, "a");
		ConfigSourceWatcher watcher = new ConfigSourceWatcher(List.of(file), this.refreshes::incrementAndGet,
				Duration.ZERO);

		watcher.onApplicationEvent(new org.springframework.cloud.context.environment.EnvironmentChangeEvent(
				java.util.Set.of("keypool.admin.token")));

		assertThat(settled(watcher)).isTrue();
		assertThat(watcher.check()).isFalse();
	}

	@Test
	void aRefreshFromElsewhereThatChangedNothingLeavesTheWatcherAsItWas() throws IOException {
		Path file = this.directory.resolve("keypool.yaml");
		Files.writeString(file, "a");
		ConfigSourceWatcher watcher = new ConfigSourceWatcher(List.of(file), this.refreshes::incrementAndGet,
				Duration.ZERO);

		watcher.onApplicationEvent(new org.springframework.cloud.context.environment.EnvironmentChangeEvent(
				java.util.Set.of()));

		assertThat(settled(watcher)).as("a refused refresh is not repeated").isFalse();
	}

	@Test
	void aFileCaughtWhileBeingWrittenIsNotReadUntilItIsTheSameAtTwoLooks() throws IOException {
		Path file = this.directory.resolve("keypool.yaml");
		Files.writeString(file, "keypool.admin.token: a");
		ConfigSourceWatcher watcher = new ConfigSourceWatcher(List.of(file), this.refreshes::incrementAndGet,
				Duration.ZERO);

		for (int look = 1; look <= 5; look++) {
			Files.writeString(file, "keypool.admin.token: a\n# written up to line " + look);
			assertThat(watcher.check()).as("look %d: changed since the last look", look).isFalse();
		}
		assertThat(this.refreshes).as("never read while it kept changing").hasValue(0);

		assertThat(watcher.check()).as("settled").isTrue();
		assertThat(this.refreshes).hasValue(1);
	}

	@Test
	void aFileOverTheSizeLimitIsRefusedOnceAndNeverRead() throws IOException {
		Path file = this.directory.resolve("keypool.yaml");
		Files.writeString(file, "keypool.admin.token: a");
		AtomicInteger refused = new AtomicInteger();
		ConfigSourceWatcher watcher = new ConfigSourceWatcher(List.of(file), this.refreshes::incrementAndGet,
				refused::incrementAndGet, Duration.ZERO);
		try (var channel = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
			// sparse: 2 GB in size, nothing on disk
			channel.write(java.nio.ByteBuffer.wrap(new byte[] { 'x' }), 2L * 1024 * 1024 * 1024);
		}

		assertThat(watcher.check()).isFalse();
		assertThat(watcher.check()).isFalse();

		assertThat(refused).as("counted once").hasValue(1);
		assertThat(this.refreshes).hasValue(0);
		assertThat(ConfigSourceWatcher.oversize(List.of(this.directory))).isNotNull();
	}

	@Test
	void aLookThatThrowsAnErrorIsCountedAndTheNextGoodChangeIsApplied() throws IOException {
		Path file = this.directory.resolve("keypool.yaml");
		Files.writeString(file, "a");
		AtomicInteger refused = new AtomicInteger();
		java.util.concurrent.atomic.AtomicBoolean failing = new java.util.concurrent.atomic.AtomicBoolean();
		ConfigSourceWatcher watcher = new ConfigSourceWatcher(List.of(file), this.refreshes::incrementAndGet,
				refused::incrementAndGet, Duration.ofMillis(10), (path) -> {
					if (failing.get()) {
						throw new OutOfMemoryError("Required array size too large");
					}
					return ConfigSourceWatcher.read(path);
				});
		failing.set(true);
		watcher.start();
		try {
			await().atMost(Duration.ofSeconds(5)).until(() -> refused.get() >= 2);
			failing.set(false);
			Files.writeString(file, "b");
			await().atMost(Duration.ofSeconds(5)).until(() -> this.refreshes.get() == 1);
		}
		finally {
			watcher.stop();
		}
	}

	/** Two looks: a change is acted on once seen the same twice. */
	private static boolean settled(ConfigSourceWatcher watcher) {
		boolean first = watcher.check();
		return watcher.check() || first;
	}

	@ParameterizedTest
	@CsvSource(delimiter = '|', value = { "optional:configtree:/etc/keypool/secrets/ | /etc/keypool/secrets",
			"file:/etc/keypool/keypool.yaml | /etc/keypool/keypool.yaml",
			"optional:file:/etc/config/app[.yaml] | /etc/config/app", "/etc/config/app.yaml | /etc/config/app.yaml" })
	void localLocationsAreWatched(String location, String path) {
		assertThat(ConfigSourceWatcher.localPath(location)).isEqualTo(Path.of(path));
	}

	@ParameterizedTest
	@CsvSource({ "classpath:/config/", "optional:classpath:extra.yaml", "kubernetes:config", "''" })
	void classpathAndRemoteLocationsAreNotWatched(String location) {
		assertThat(ConfigSourceWatcher.localPath(location)).isNull();
	}

	@Test
	void locationsComeFromEveryPropertySourceThatNamesThem() {
		StandardEnvironment environment = new StandardEnvironment();
		environment.getPropertySources()
			.addFirst(new MapPropertySource("args",
					Map.of("spring.config.additional-location", "file:/etc/a.yaml,optional:file:/etc/b.yaml")));
		environment.getPropertySources()
			.addLast(new MapPropertySource("application.yaml",
					Map.of("spring.config.import[0]", "optional:configtree:/etc/keypool/secrets/",
							"spring.config.import[1]", "classpath:other.yaml")));

		assertThat(ConfigSourceWatcher.locations(environment)).containsExactlyInAnyOrder(Path.of("/etc/a.yaml"),
				Path.of("/etc/b.yaml"), Path.of("/etc/keypool/secrets"));
	}

}
