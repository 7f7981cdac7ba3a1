package dev.keypool.gateway;

import org.junit.jupiter.api.Test;

import org.springframework.http.HttpHeaders;

import static org.assertj.core.api.Assertions.assertThat;

class HopByHopHeadersTests {

	@Test
	void namesListedInConnectionAndEveryProxyHeaderAreDroppedWhileTheRequestsOwnHeadersStay() {
		HttpHeaders headers = new HttpHeaders();
		headers.add(HttpHeaders.CONNECTION, "x-api-key, X-Custom");
		headers.add("x-api-key", "caller-key");
		headers.add("x-custom", "1");
		headers.add("Keep-Alive", "timeout=5");
		headers.add("Proxy-Authorization", "Basic abc");
		headers.add("Proxy-Foo", "bar");
		headers.add("anthropic-version", "2023-06-01");
		headers.add("x-proxy-note", "kept: not a Proxy-* header");

		HopByHopHeaders.remove(headers);

		assertThat(headers.headerNames()).containsExactlyInAnyOrder("anthropic-version", "x-proxy-note");
	}

}
