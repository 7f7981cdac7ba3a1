package dev.keypool.config;

import java.util.ArrayList;
import java.util.List;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import dev.keypool.demo.DemoUpstreamConfiguration;
import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;

import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.core.env.Environment;
import org.springframework.core.env.Profiles;

/**
 * Logs one INFO line once the gateway serves: where the API and the actuator listen, and
 * which pools it serves with how many keys. In the {@code demo} profile the line ends with
 * the request to try first. The ports are the ones actually bound ({@code server.port=0}
 * included), read from {@code local.server.port} and {@code local.management.port}.
 */
class ReadyLine implements ApplicationListener<ApplicationReadyEvent> {

	private static final Log logger = LogFactory.getLog(ReadyLine.class);

	private final KeyPools pools;

	ReadyLine(KeyPools pools) {
		this.pools = pools;
	}

	@Override
	public void onApplicationEvent(ApplicationReadyEvent event) {
		logger.info(describe(event.getApplicationContext().getEnvironment()));
	}

	String describe(Environment environment) {
		String api = url(environment, "server", environment.getProperty("local.server.port"));
		StringBuilder line = new StringBuilder("keypool-gateway ready: API ").append(api)
			.append(", actuator ")
			.append(actuator(environment))
			.append(", pools: ")
			.append(pools());
		if (environment.acceptsProfiles(Profiles.of("demo"))) {
			line.append("; try: ").append(DemoUpstreamConfiguration.firstRequest(api));
		}
		return line.toString();
	}

	private String pools() {
		List<String> described = new ArrayList<>();
		for (KeyPool pool : this.pools.all()) {
			int keys = pool.keys().size();
			described.add(pool.name() + " (" + keys + ((keys == 1) ? " key)" : " keys)"));
		}
		return described.isEmpty() ? "none" : String.join(", ", described);
	}

	private static String actuator(Environment environment) {
		String basePath = environment.getProperty("management.endpoints.web.base-path", "/actuator");
		if ("-1".equals(environment.getProperty("management.server.port"))) {
			return "off (management.server.port=-1)";
		}
		String port = environment.getProperty("local.management.port");
		if (port == null) {
			// Management on the public port: only when management.server.port is unset.
			return url(environment, "server", environment.getProperty("local.server.port")) + basePath;
		}
		return url(environment, "management.server", port)
				+ environment.getProperty("management.server.base-path", "") + basePath;
	}

	private static String url(Environment environment, String prefix, String port) {
		return (tls(environment, prefix + ".ssl") ? "https" : "http") + "://"
				+ host(environment.getProperty(prefix + ".address")) + ":" + port;
	}

	/** As Spring Boot decides it: TLS is on once a key store or bundle is set, unless disabled. */
	private static boolean tls(Environment environment, String ssl) {
		boolean configured = environment.containsProperty(ssl + ".bundle")
				|| environment.containsProperty(ssl + ".key-store");
		return configured && environment.getProperty(ssl + ".enabled", Boolean.class, true);
	}

	/** The configured address when it is a specific one, else localhost. No name lookup. */
	private static String host(String address) {
		if (address == null || address.isBlank() || address.equals("0.0.0.0") || address.equals("::")
				|| address.equals("[::]")) {
			return "localhost";
		}
		return address.contains(":") && !address.startsWith("[") ? "[" + address + "]" : address;
	}

}
