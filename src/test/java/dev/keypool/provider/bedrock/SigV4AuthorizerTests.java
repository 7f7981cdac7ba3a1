package dev.keypool.provider.bedrock;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

import dev.keypool.provider.AttemptRequest;
import dev.keypool.provider.Authorized;

import static org.assertj.core.api.Assertions.assertThat;

class SigV4AuthorizerTests {

	private static final byte[] BODY = "{\"max_tokens\":16,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
		.getBytes(StandardCharsets.UTF_8);

	private final SigV4Authorizer authorizer = new SigV4Authorizer("AKIDEXAMPLE", "secret", null, "us-east-1",
			Clock.systemUTC());

	/**
	 * Signing runs on the event loop that sends the attempt: many event loops signing at once
	 * contend for the SDK's pool of message digests, and that must not count as blocking. The
	 * fake Bedrock checks signatures with the same signer on its event loops.
	 */
	@Test
	void signingConcurrentlyOnNonBlockingThreadsNeverBlocks() {
		int threads = Math.max(4, Schedulers.DEFAULT_POOL_SIZE);
		List<Authorized> signed = Flux.range(0, 4_000)
			.parallel(threads)
			.runOn(Schedulers.parallel())
			.flatMap((i) -> Mono.fromCompletionStage(this.authorizer.authorize(request())))
			.sequential()
			.collectList()
			.block(Duration.ofSeconds(60));

		assertThat(signed).hasSize(4_000)
			.allSatisfy((authorized) -> assertThat(authorized.headers()).containsKey("authorization"));
	}

	private static AttemptRequest request() {
		return new AttemptRequest("POST", "https", "bedrock-runtime.us-east-1.amazonaws.com", -1,
				"/model/anthropic.claude-opus-4-7-v1:0/invoke", null, () -> new ByteArrayInputStream(BODY));
	}

}
