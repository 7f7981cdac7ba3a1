/**
 * Key state shared by every replica: a Redis-backed {@link dev.keypool.pool.KeyStateStore}
 * that keeps a local view for the request path and falls back to it when Redis is down.
 */
package dev.keypool.state;
