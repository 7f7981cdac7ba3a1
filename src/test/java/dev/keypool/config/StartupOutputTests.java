package dev.keypool.config;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import dev.keypool.KeypoolGatewayApplication;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a newcomer sees when the gateway starts: no page of framework chatter, then one line
 * that says it serves, where, and with which pools.
 */
@ExtendWith(OutputCaptureExtension.class)
class StartupOutputTests {

	private static final String READY = "keypool-gateway ready: ";

	@Test
	void readyLineNamesBothUrlsAndEveryPoolWithItsKeyCount(CapturedOutput output) {
		try (ConfigurableApplicationContext context = start("--keypool.pools.main.keys[0].id=primary",
				"--keypool.pools.main.keys[0].secret=sk-ant-main-0001", "--keypool.pools.main.keys[1].id=fallback",
				"--keypool.pools.main.keys[1].secret=sk-ant-main-0002", "--keypool.pools.batch.keys[0].id=batch",
				"--keypool.pools.batch.keys[0].secret=sk-ant-batch-0003")) {
			String port = context.getEnvironment().getProperty("local.server.port");
			String managementPort = context.getEnvironment().getProperty("local.management.port");

			assertThat(readyLines(output)).singleElement()
				.asString()
				.contains(READY + "API http://localhost:" + port + ", actuator http://localhost:" + managementPort
						+ "/actuator, pools: ")
				.contains("main (2 keys)", "batch (1 key)")
				.doesNotContain("sk-ant-");
		}
	}

	@Test
	void demoReadyLineEndsWithTheRequestToTryFirst(CapturedOutput output) throws IOException {
		int port = freePort();
		try (ConfigurableApplicationContext context = new SpringApplicationBuilder(KeypoolGatewayApplication.class)
			.profiles("demo")
			.run("--server.port=" + port, "--management.server.port=0")) {

			assertThat(readyLines(output)).singleElement()
				.asString()
				.contains("API http://localhost:" + port + ", ", ", pools: anthropic (3 keys); try: curl -i http://localhost:"
						+ port + "/v1/models -H 'anthropic-version: 2023-06-01'");
		}
	}

	@Test
	void startLogsNoFrameworkChatter(CapturedOutput output) {
		try (ConfigurableApplicationContext context = start("--keypool.pools.main.keys[0].id=primary",
				"--keypool.pools.main.keys[0].secret=sk-ant-main-0001")) {
			assertThat(readyLines(output)).hasSize(1);
			assertThat(output.getOut()).doesNotContain("Loaded RoutePredicateFactory")
				.doesNotContain("Multiple Spring Data modules found")
				.doesNotContain("Spring Data Redis repositories")
				.doesNotContain("repository scanning");
		}
	}

	@Test
	void healthShowsNoDiscoveryClientsTheGatewayDoesNotUse() {
		try (ConfigurableApplicationContext context = start("--keypool.pools.main.keys[0].id=primary",
				"--keypool.pools.main.keys[0].secret=sk-ant-main-0001")) {
			WebTestClient.bindToServer()
				.baseUrl("http://127.0.0.1:" + context.getEnvironment().getProperty("local.management.port"))
				.build()
				.get()
				.uri("/actuator/health")
				.exchange()
				.expectStatus()
				.isOk()
				.expectBody()
				.jsonPath("$.components.keypools.status")
				.isEqualTo("UP")
				.jsonPath("$.components.discoveryComposite")
				.doesNotExist()
				.jsonPath("$.components.reactiveDiscoveryClients")
				.doesNotExist();
		}
	}

	private static ConfigurableApplicationContext start(String... args) {
		String[] all = new String[args.length + 2];
		all[0] = "--server.port=0";
		all[1] = "--management.server.port=0";
		System.arraycopy(args, 0, all, 2, args.length);
		return new SpringApplicationBuilder(KeypoolGatewayApplication.class).run(all);
	}

	private static List<String> readyLines(CapturedOutput output) {
		return output.getOut().lines().filter((line) -> line.contains(READY)).toList();
	}

	private static int freePort() throws IOException {
		try (ServerSocket socket = new ServerSocket(0)) {
			return socket.getLocalPort();
		}
	}

}
