package dev.keypool.config;


import dev.keypool.actuate.KeyPoolsEndpoint;
import dev.keypool.actuate.KeyPoolsWriteGuard;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.endpoint.EndpointId;
import org.springframework.boot.actuate.endpoint.web.PathMappedEndpoints;
import org.springframework.context.annotation.Bean;

/**
 * Beans of the management server's context: the {@link KeyPoolsWriteGuard}. Listed in
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

	@Bean
	KeyPoolsWriteGuard keyPoolsWriteGuard(KeypoolProperties properties, ObjectProvider<PathMappedEndpoints> endpoints) {
		KeypoolProperties.Admin admin = properties.admin();
		return new KeyPoolsWriteGuard(() -> endpointPath(endpoints), admin.token(),
				admin.allowUnauthenticatedWrites());
	}

	private static String endpointPath(ObjectProvider<PathMappedEndpoints> endpoints) {
		PathMappedEndpoints mapped = endpoints.getIfAvailable();
		String path = (mapped != null) ? mapped.getPath(EndpointId.of(KeyPoolsEndpoint.ID)) : null;
		return (path != null) ? path : "/actuator/" + KeyPoolsEndpoint.ID;
	}

}
