package dev.keypool.provider.bedrock;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.netty.ByteBufFlux;
import reactor.netty.http.client.HttpClient;

import dev.keypool.provider.AttemptRequest;
import dev.keypool.provider.Authorized;
import dev.keypool.support.FakeBedrock;

import static org.assertj.core.api.Assertions.assertThat;

class SigV4AuthorizerTests {

	private static final byte[] BODY = "{\"max_tokens\":16,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
		.getBytes(StandardCharsets.UTF_8);

	private final SigV4Authorizer authorizer = new SigV4Authorizer("AKIDEXAMPLE", "secret", null, "us-east-1",
			Clock.systemUTC());

	/**
	 * Signing runs on the event loop that sends the attempt: many event loops signing at once
	 * contend for the SDK's pool of message digests, and that must not count as blocking.
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

	/** The fake Bedrock checks each signature with the SDK's signer on its own event loops. */
	@Test
	void theFakeChecksConcurrentSignaturesOnItsEventLoopsWithoutBlocking() {
		try (FakeBedrock bedrock = new FakeBedrock("us-east-1").credential("AKIDEXAMPLE", "secret")) {
			URI endpoint = URI.create(bedrock.url());
			HttpClient client = HttpClient.create();
			List<Integer> statuses = Flux.range(0, 3_000)
				.flatMap((i) -> Mono.fromCompletionStage(this.authorizer.authorize(request(endpoint)))
					.flatMap((authorized) -> client.headers((headers) -> authorized.headers().forEach(headers::set))
						.post()
						.uri(bedrock.url() + authorized.rawPath())
						.send(ByteBufFlux.fromString(Mono.just(new String(BODY, StandardCharsets.UTF_8))))
						.responseSingle((response, body) -> body.then(Mono.just(response.status().code())))), 128)
				.collectList()
				.block(Duration.ofSeconds(60));

			assertThat(statuses).hasSize(3_000).containsOnly(200);
		}
	}

	private static AttemptRequest request() {
		return new AttemptRequest("POST", "https", "bedrock-runtime.us-east-1.amazonaws.com", -1,
				"/model/anthropic.claude-opus-4-7-v1:0/invoke", null, () -> new ByteArrayInputStream(BODY));
	}

	private static AttemptRequest request(URI endpoint) {
		return new AttemptRequest("POST", "http", endpoint.getHost(), endpoint.getPort(),
				"/model/anthropic.claude-opus-4-7-v1:0/invoke", null, () -> new ByteArrayInputStream(BODY));
	}

}
