package dev.keypool.gateway;

import java.util.function.Consumer;

import reactor.core.publisher.Mono;

import dev.keypool.provider.ErrorKind;
import dev.keypool.provider.ProviderDialect;

import org.springframework.cloud.gateway.support.ServerWebExchangeUtils;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.server.ServerWebExchange;

/**
 * Writes the errors the gateway produces itself, in the provider's shape.
 */
final class GatewayErrors {

	private GatewayErrors() {
	}

	static Mono<Void> write(ServerWebExchange exchange, ProviderDialect dialect, HttpStatus status, ErrorKind kind,
			String message) {
		return write(exchange, dialect, status, kind, message, null);
	}

	/**
	 * Replaces whatever a failed attempt left on the response (status, upstream headers) with
	 * the error; extra headers such as {@code Retry-After} are applied by {@code headers}.
	 */
	static Mono<Void> write(ServerWebExchange exchange, ProviderDialect dialect, HttpStatus status, ErrorKind kind,
			String message, Consumer<HttpHeaders> headers) {
		ServerWebExchangeUtils.reset(exchange);
		ServerHttpResponse response = exchange.getResponse();
		if (response.isCommitted()) {
			return Mono.empty();
		}
		byte[] body = dialect.errorBody(status.value(), kind, message);
		response.setStatusCode(status);
		HttpHeaders responseHeaders = response.getHeaders();
		responseHeaders.setContentType(MediaType.APPLICATION_JSON);
		responseHeaders.setContentLength(body.length);
		dialect.errorHeaders(kind).forEach(responseHeaders::set);
		if (headers != null) {
			headers.accept(responseHeaders);
		}
		return response.writeWith(Mono.fromSupplier(() -> response.bufferFactory().wrap(body)));
	}

}
