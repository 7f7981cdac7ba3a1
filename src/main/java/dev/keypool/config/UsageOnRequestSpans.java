package dev.keypool.config;

import dev.keypool.tracing.RequestSpan;
import dev.keypool.usage.CountedUsage;
import dev.keypool.usage.TokenUsage;
import dev.keypool.usage.UsageListener;

import org.springframework.web.server.ServerWebExchange;

/**
 * Puts a pooled request's counted tokens on its trace span ({@code gen_ai.usage.*}); a no-op
 * when tracing is off or the request has no span (BYOK). Input counts every prompt token, cache
 * reads and writes included, as the GenAI conventions define input tokens; the split is in
 * {@code keypool_tokens_total}.
 */
final class UsageOnRequestSpans implements UsageListener {

	@Override
	public void counted(CountedUsage usage) {
		// only the exchange-aware call below has a span to write to
	}

	@Override
	public void counted(ServerWebExchange exchange, CountedUsage usage) {
		TokenUsage tokens = usage.tokens();
		RequestSpan.of(exchange).usage(tokens.input() + tokens.cacheRead() + tokens.cacheCreation(), tokens.output());
	}

}
