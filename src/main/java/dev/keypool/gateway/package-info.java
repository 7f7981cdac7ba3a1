/**
 * The HTTP side of failover: the {@code KeyFailover} route filter, caller resolution,
 * request body replay and response relaying, on Spring Cloud Gateway.
 */
package dev.keypool.gateway;
