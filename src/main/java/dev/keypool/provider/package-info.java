/**
 * Provider dialects: how a provider expects its key, and how its errors are worded, so the
 * gateway's own errors look exactly like the provider's to SDKs and tools.
 */
package dev.keypool.provider;
