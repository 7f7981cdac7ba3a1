package dev.keypool.tracing;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.micrometer.tracing.Tracer;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;

import dev.keypool.pool.KeyPool;
import dev.keypool.pool.KeyPools;
import dev.keypool.support.GatewayTestProperties;
import dev.keypool.support.OtlpReceiver;
import dev.keypool.support.ScriptedUpstream;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.cloud.gateway.filter.GlobalFilter;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.http.MediaType;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tracing as shipped: off. Even with a collector endpoint configured, nothing is exported,
 * no span is made, and upstream requests carry only the trace headers the caller sent.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		classes = { dev.keypool.KeypoolGatewayApplication.class, TracingOffIntegrationTest.SpanProbe.class })
class TracingOffIntegrationTest {

	static final String CLIENT_TOKEN = "client-token-tracing-off-01";

	static final ScriptedUpstream upstream = new ScriptedUpstream();

	static final OtlpReceiver receiver = new OtlpReceiver();

	static final List<Boolean> recording = new CopyOnWriteArrayList<>();

	@DynamicPropertySource
	static void gatewayProperties(DynamicPropertyRegistry registry) {
		GatewayTestProperties.on(registry)
			.client("team-o", CLIENT_TOKEN)
			.pool("untraced", "k0", "sk-ant-untraced-secret-0", "k1", "sk-ant-untraced-secret-1")
			.route("untraced", upstream::url, "/v1/**", "KeyFailover=untraced")
			.set("management.tracing.sampling.probability", 1.0)
			.set("management.opentelemetry.tracing.export.otlp.endpoint", receiver.tracesEndpoint());
	}

	/** Notes, during each attempt, whether the request has a recording span. */
	@TestConfiguration(proxyBeanMethods = false)
	static class SpanProbe {

		@Bean
		GlobalFilter notesWhetherTheRequestHasASpan() {
			return (exchange, chain) -> {
				recording.add(RequestSpan.of(exchange).isRecording());
				return chain.filter(exchange);
			};
		}

	}

	@LocalServerPort
	int port;

	@Autowired
	ApplicationContext context;

	@Autowired
	KeyPools pools;

	WebTestClient client;

	@BeforeEach
	void setUp() {
		upstream.reset();
		recording.clear();
		KeyPool pool = this.pools.get("untraced").orElseThrow();
		pool.keys().forEach(pool::reset);
		this.client = WebTestClient.bindToServer(new ReactorClientHttpConnector(HttpClient.create()))
			.baseUrl("http://127.0.0.1:" + this.port)
			.responseTimeout(Duration.ofSeconds(10))
			.build();
	}

	@AfterAll
	static void stop() {
		upstream.close();
		receiver.close();
	}

	@Test
	void noSpanExporterExistsAndTheTracerIsMicrometersNoOp() {
		assertThat(this.context.getBeansOfType(SpanExporter.class)).isEmpty();
		assertThat(this.context.getBean(Tracer.class)).isSameAs(Tracer.NOOP);
	}

	@Test
	void aFailoverMakesNoSpanAndExportsNothing() {
		rateLimitedThenOk();

		post(null);

		assertThat(recording).containsExactly(false, false);
		this.context.getBean(SdkTracerProvider.class).forceFlush().join(10, TimeUnit.SECONDS);
		assertThat(receiver.exports()).isZero();
	}

	@Test
	void upstreamRequestsGetNoTraceparentOfTheGateway() {
		rateLimitedThenOk();

		post(null);

		assertThat(upstream.received()).hasSize(2)
			.allSatisfy((request) -> assertThat(request.headers().contains("traceparent")).isFalse());
	}

	@Test
	void aCallersTraceparentPassesUnchanged() {
		String traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
		rateLimitedThenOk();

		post(traceparent);

		assertThat(upstream.received()).extracting((request) -> request.headers().get("traceparent"))
			.containsExactly(traceparent, traceparent);
	}

	private void rateLimitedThenOk() {
		upstream.then((request, response) -> response.status(429)
			.header("retry-after", "30")
			.sendString(Mono.just("{}"))
			.then());
		upstream.then((request, response) -> response.header("Content-Type", "application/json")
			.sendString(Mono.just("{\"type\":\"message\"}"))
			.then());
	}

	private void post(String traceparent) {
		this.client.post()
			.uri("/v1/messages")
			.header("x-api-key", CLIENT_TOKEN)
			.headers((headers) -> {
				if (traceparent != null) {
					headers.set("traceparent", traceparent);
				}
			})
			.contentType(MediaType.APPLICATION_JSON)
			.bodyValue("{\"model\":\"claude-haiku-4-5\",\"max_tokens\":1}")
			.exchange()
			.expectStatus()
			.isOk()
			.expectBody(String.class)
			.isEqualTo("{\"type\":\"message\"}");
	}

}
