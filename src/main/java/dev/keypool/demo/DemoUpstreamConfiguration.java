package dev.keypool.demo;

import java.util.List;

import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Profile;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;

/**
 * Serves the simulated Anthropic API under {@value #PREFIX} on the gateway's own port, so
 * the {@code demo} profile runs without internet or a real key. Router functions are
 * matched before the gateway's routes, and {@value #PREFIX} never matches the gateway's
 * {@code Path=/v1/**} predicate, so the two coexist.
 */
@Configuration(proxyBeanMethods = false)
@Profile("demo")
@EnableConfigurationProperties(DemoProperties.class)
public class DemoUpstreamConfiguration {

	/** Where the simulated API lives; the demo route adds it with {@code PrefixPath}. */
	public static final String PREFIX = "/demo-upstream";

	/**
	 * The request to try first against a gateway running the demo profile at {@code baseUrl}:
	 * a curl that shows the response headers, {@code X-Keypool-Key} and
	 * {@code X-Keypool-Attempts} included. It lists the models, which the simulated upstream
	 * does not count toward a key's rate-limit cycle, so trying it leaves the README's
	 * walkthrough as the README shows it.
	 */
	public static String firstRequest(String baseUrl) {
		return "curl -i " + baseUrl + "/v1/models -H 'anthropic-version: 2023-06-01'";
	}

	@Bean
	SimulatedAnthropicApi demoUpstreamApi(DemoProperties properties) {
		return new SimulatedAnthropicApi(demoKeys(properties), properties.deltaDelay());
	}

	@Bean
	RouterFunction<ServerResponse> demoUpstreamRoutes(SimulatedAnthropicApi demoUpstreamApi) {
		return demoUpstreamApi.routes(PREFIX);
	}

	static List<SimulatedKey> demoKeys(DemoProperties properties) {
		return List.of(
				SimulatedKey.rateLimitedEvery(properties.primarySecret(), properties.rateLimitEvery(),
						properties.retryAfter()),
				SimulatedKey.revoked(properties.revokedSecret()),
				SimulatedKey.ok(properties.backupSecret()));
	}

}
