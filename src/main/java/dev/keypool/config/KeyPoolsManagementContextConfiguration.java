package dev.keypool.config;

import java.util.List;

import dev.keypool.actuate.KeyPoolsEndpoint;
import dev.keypool.actuate.KeyPoolsWriteGuard;
import dev.keypool.config.reload.LiveKeypool;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.endpoint.EndpointId;
import org.springframework.boot.actuate.endpoint.web.PathMappedEndpoints;
import org.springframework.context.annotation.Bean;

/**
 * Beans of the management server's context: the {@link KeyPoolsWriteGuard}, for the
 * {@code keypools} and {@code refresh} endpoints. Listed in
 * {@code META-INF/spring/org.springframework.boot.actuate.autoconfigure.web.ManagementContextConfiguration.imports},
 * so it is loaded into the child context of a separate management port (and into the main
 * context when management shares the server port).
 * <p>
 * Deliberately not annotated with {@code @ManagementContextConfiguration}: that is a
 * {@code @Configuration}, and component scanning of {@code dev.keypool} would then also load
 * this class into the main context, where the guard would answer for actuator paths on the
 * public port. Without the annotation it is imported as a lite configuration for any
 * management context type.
 */
public class KeyPoolsManagementContextConfiguration {

	/** Spring Cloud's endpoint that reloads the configuration. */
	static final String REFRESH_ENDPOINT = "refresh";

	/** Guards {@code keypools} and Spring Cloud's {@code refresh}, with the admin token in force. */
	@Bean
	KeyPoolsWriteGuard keyPoolsWriteGuard(LiveKeypool live, ObjectProvider<PathMappedEndpoints> endpoints) {
		return new KeyPoolsWriteGuard(
				() -> List.of(endpointPath(endpoints, KeyPoolsEndpoint.ID), endpointPath(endpoints, REFRESH_ENDPOINT)),
				live::adminAccess);
	}

	private static String endpointPath(ObjectProvider<PathMappedEndpoints> endpoints, String id) {
		PathMappedEndpoints mapped = endpoints.getIfAvailable();
		String path = (mapped != null) ? mapped.getPath(EndpointId.of(id)) : null;
		return (path != null) ? path : "/actuator/" + id;
	}

}
