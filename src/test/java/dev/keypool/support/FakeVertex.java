package dev.keypool.support;

import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.netty.handler.codec.http.HttpHeaders;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;

/**
 * Google's token endpoint and Vertex AI's Claude endpoint in one server. Service accounts made
 * by {@link #serviceAccount} point their {@code token_uri} here; each exchange (a JWT assertion
 * signed with the account's key, as Google's auth library sends it) is answered with a fresh
 * token for that account. Vertex requests must carry a token issued here; projects can be set
 * to answer 429 {@code RESOURCE_EXHAUSTED} or 403 {@code PERMISSION_DENIED}.
 */
public final class FakeVertex implements AutoCloseable {

	public static final String TEXT = "hello from vertex";

	private static final Pattern JWT_ISSUER = Pattern.compile("\"iss\":\"([^\"]+)\"");

	private static final Pattern VERTEX_PATH = Pattern
		.compile("^/v1/projects/([^/]+)/locations/([^/]+)/publishers/anthropic/models/([^/:]+):(rawPredict|streamRawPredict)$");

	private final Map<String, AtomicInteger> exchanges = new ConcurrentHashMap<>();

	/** Issued token → the service account it was issued to. */
	private final Map<String, String> tokens = new ConcurrentHashMap<>();

	private final Set<String> exhaustedProjects = ConcurrentHashMap.newKeySet();

	private final Set<String> forbiddenProjects = ConcurrentHashMap.newKeySet();

	private final List<Received> received = new CopyOnWriteArrayList<>();

	private final DisposableServer server;

	public FakeVertex() {
		this.server = HttpServer.create()
			.host("127.0.0.1")
			.port(0)
			.handle((request, response) -> request.receive()
				.aggregate()
				.asString(StandardCharsets.UTF_8)
				.defaultIfEmpty("")
				.flatMap((body) -> Mono.from(answer(request, response, body))))
			.bindNow();
	}

	public String url() {
		return "http://127.0.0.1:" + this.server.port();
	}

	/** A service-account JSON key with a fresh RSA key, exchanging its tokens here. */
	public String serviceAccount(String email) {
		try {
			KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
			generator.initialize(2048);
			String pem = ("-----BEGIN PRIVATE KEY-----\n"
					+ Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
						.encodeToString(generator.generateKeyPair().getPrivate().getEncoded())
					+ "\n-----END PRIVATE KEY-----\n").replace("\n", "\\n");
			return "{\"type\":\"service_account\",\"project_id\":\"home-project\",\"private_key_id\":\"key-" + email
					+ "\",\"private_key\":\"" + pem + "\",\"client_email\":\"" + email + "\",\"client_id\":\"1\","
					+ "\"token_uri\":\"" + url() + "/token\"}";
		}
		catch (NoSuchAlgorithmException ex) {
			throw new IllegalStateException(ex);
		}
	}

	/** How many token exchanges the account made. */
	public int exchanges(String email) {
		AtomicInteger count = this.exchanges.get(email);
		return (count != null) ? count.get() : 0;
	}

	public void exhaust(String project) {
		this.exhaustedProjects.add(project);
	}

	public void forbid(String project) {
		this.forbiddenProjects.add(project);
	}

	public List<Received> received() {
		return List.copyOf(this.received);
	}

	public void reset() {
		this.exhaustedProjects.clear();
		this.forbiddenProjects.clear();
		this.received.clear();
	}

	@Override
	public void close() {
		this.server.disposeNow();
	}

	private Publisher<Void> answer(HttpServerRequest request, HttpServerResponse response, String body) {
		if (request.uri().equals("/token")) {
			return exchange(response, body);
		}
		String authorization = request.requestHeaders().get("authorization");
		String account = (authorization != null && authorization.startsWith("Bearer "))
				? this.tokens.get(authorization.substring(7)) : null;
		Matcher path = VERTEX_PATH.matcher(request.uri());
		this.received.add(new Received(request.uri(), request.requestHeaders().copy(), body, account,
				path.matches() ? path.group(1) : null, path.matches() ? path.group(2) : null));
		if (account == null) {
			return error(response, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
		}
		if (!path.matches()) {
			return error(response, 404, "NOT_FOUND", "no such method");
		}
		if (this.forbiddenProjects.contains(path.group(1))) {
			return error(response, 403, "PERMISSION_DENIED", "Permission denied on resource project " + path.group(1));
		}
		if (this.exhaustedProjects.contains(path.group(1))) {
			return error(response, 429, "RESOURCE_EXHAUSTED", "Quota exceeded for aiplatform.googleapis.com");
		}
		if (path.group(4).equals("streamRawPredict")) {
			return response.header("Content-Type", "text/event-stream")
				.sendString(Flux.just(
						"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_vrtx\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-opus-4-7\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
						"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
						"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"" + TEXT + "\"}}\n\n",
						"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
						"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":4}}\n\n",
						"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
				.then();
		}
		return response.header("Content-Type", "application/json")
			.sendString(Mono.just("{\"id\":\"msg_vrtx\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-opus-4-7\","
					+ "\"content\":[{\"type\":\"text\",\"text\":\"" + TEXT + "\"}],\"stop_reason\":\"end_turn\","
					+ "\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}"))
			.then();
	}

	/** The JWT-bearer grant: the assertion's issuer is the service account. */
	private Publisher<Void> exchange(HttpServerResponse response, String form) {
		String assertion = null;
		for (String pair : form.split("&")) {
			if (pair.startsWith("assertion=")) {
				assertion = pair.substring("assertion=".length());
			}
		}
		if (assertion == null || assertion.split("\\.").length != 3) {
			return response.status(400).sendString(Mono.just("{\"error\":\"invalid_grant\"}")).then();
		}
		String claims = new String(Base64.getUrlDecoder().decode(assertion.split("\\.")[1]), StandardCharsets.UTF_8);
		Matcher issuer = JWT_ISSUER.matcher(claims);
		if (!issuer.find()) {
			return response.status(400).sendString(Mono.just("{\"error\":\"invalid_grant\"}")).then();
		}
		String account = issuer.group(1);
		int n = this.exchanges.computeIfAbsent(account, (a) -> new AtomicInteger()).incrementAndGet();
		String token = "ya29.fake-" + account + "-" + n;
		this.tokens.put(token, account);
		return response.header("Content-Type", "application/json")
			.sendString(Mono.just("{\"access_token\":\"" + token + "\",\"expires_in\":3600,\"token_type\":\"Bearer\"}"))
			.then();
	}

	private static Publisher<Void> error(HttpServerResponse response, int code, String status, String message) {
		return response.status(code)
			.header("Content-Type", "application/json")
			.sendString(Mono.just("{\"error\":{\"code\":" + code + ",\"message\":\"" + message + "\",\"status\":\""
					+ status + "\"}}"))
			.then();
	}

	/**
	 * What the Vertex endpoint received.
	 *
	 * @param account the service account whose token it carried, {@code null} for none or an unknown one
	 * @param project the project in its path
	 * @param region the location in its path
	 */
	public record Received(String uri, HttpHeaders headers, String body, String account, String project,
			String region) {

	}

}
