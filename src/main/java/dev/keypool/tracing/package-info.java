/**
 * Spans of pooled requests and of their upstream attempts, through Micrometer's
 * {@code Observation} API; a no-op unless tracing is turned on.
 */
package dev.keypool.tracing;
