/**
 * The key pool: keys, their derived states, the store that holds the facts, the walker
 * that picks keys for one request, status classification and Retry-After parsing.
 * <p>
 * JDK only: no Spring, no web types. Time comes from an injected {@link java.time.Clock}.
 */
package dev.keypool.pool;
