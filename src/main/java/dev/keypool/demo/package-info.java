/**
 * A simulated Anthropic Messages API, served in-process: the upstream of the {@code demo}
 * profile and a realistic local fake for end-to-end tests. No network, no real key.
 * <p>
 * Nothing outside this package imports it; it only talks to the gateway over HTTP.
 */
package dev.keypool.demo;
