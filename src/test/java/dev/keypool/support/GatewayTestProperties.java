package dev.keypool.support;

import java.util.function.Supplier;

import org.springframework.test.context.DynamicPropertyRegistry;

/**
 * Registers clients, pools and routes the way an operator's application.yaml would, so a
 * test states its setup in a few lines.
 */
public final class GatewayTestProperties {

	private static final String ROUTES = "spring.cloud.gateway.server.webflux.routes";

	private final DynamicPropertyRegistry registry;

	private int clients;

	private int routes;

	private GatewayTestProperties(DynamicPropertyRegistry registry) {
		this.registry = registry;
		registry.add("management.server.port", () -> "0");
	}

	/** Starts a configuration with the management server on a random port. */
	public static GatewayTestProperties on(DynamicPropertyRegistry registry) {
		return new GatewayTestProperties(registry);
	}

	public GatewayTestProperties client(String id, String token) {
		int index = this.clients++;
		this.registry.add("keypool.clients[" + index + "].id", () -> id);
		this.registry.add("keypool.clients[" + index + "].token", () -> token);
		return this;
	}

	/** A pool of keys given as id, secret, id, secret, ... in priority order. */
	public GatewayTestProperties pool(String name, String... idsAndSecrets) {
		for (int i = 0; i < idsAndSecrets.length / 2; i++) {
			String id = idsAndSecrets[2 * i];
			String secret = idsAndSecrets[2 * i + 1];
			this.registry.add("keypool.pools." + name + ".keys[" + i + "].id", () -> id);
			this.registry.add("keypool.pools." + name + ".keys[" + i + "].secret", () -> secret);
		}
		return this;
	}

	/** A route matching {@code path}, to {@code uri}, with the given filters in order. */
	public GatewayTestProperties route(String id, Supplier<Object> uri, String path, String... filters) {
		String route = ROUTES + "[" + this.routes++ + "]";
		this.registry.add(route + ".id", () -> id);
		this.registry.add(route + ".uri", uri);
		this.registry.add(route + ".predicates[0]", () -> "Path=" + path);
		for (int i = 0; i < filters.length; i++) {
			String filter = filters[i];
			this.registry.add(route + ".filters[" + i + "]", () -> filter);
		}
		return this;
	}

	/** Any other property. */
	public GatewayTestProperties set(String name, Object value) {
		this.registry.add(name, () -> value);
		return this;
	}

}
