package dev.keypool.support;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * An in-process OpenTelemetry collector for OTLP/HTTP with protobuf, the encoding Spring Boot's
 * OTLP span exporter sends: it keeps every export request as received and decodes its spans with
 * a minimal protobuf reader (no generated classes), enough for names, ids and attributes.
 */
public final class OtlpReceiver implements AutoCloseable {

	private final List<byte[]> payloads = new CopyOnWriteArrayList<>();

	private final List<ExportedSpan> spans = new CopyOnWriteArrayList<>();

	private final DisposableServer server;

	public OtlpReceiver() {
		this.server = HttpServer.create().host("127.0.0.1").port(0).handle((request, response) -> request.receive()
			.aggregate()
			.asByteArray()
			.defaultIfEmpty(new byte[0])
			.flatMap((body) -> {
				if (!request.uri().equals("/v1/traces")) {
					return response.status(404).send().then();
				}
				this.payloads.add(body);
				this.spans.addAll(decode(body));
				return response.status(200).header("Content-Type", "application/x-protobuf").send().then();
			})
			.then(Mono.empty())).bindNow();
	}

	/** The endpoint for {@code management.opentelemetry.tracing.export.otlp.endpoint}. */
	public String tracesEndpoint() {
		return "http://127.0.0.1:" + this.server.port() + "/v1/traces";
	}

	public List<ExportedSpan> spans() {
		return List.copyOf(this.spans);
	}

	/** How many export requests arrived. */
	public int exports() {
		return this.payloads.size();
	}

	/** Whether any export request held these bytes anywhere (attributes, events, resource, names). */
	public boolean anyPayloadContains(String text) {
		byte[] needle = text.getBytes(StandardCharsets.UTF_8);
		return this.payloads.stream().anyMatch((payload) -> indexOf(payload, needle) >= 0);
	}

	public void reset() {
		this.payloads.clear();
		this.spans.clear();
	}

	@Override
	public void close() {
		this.server.disposeNow();
	}

	/** One span as exported. Ids are lower-case hex; {@code parentSpanId} is empty for a root span. */
	public record ExportedSpan(String traceId, String spanId, String parentSpanId, String name, int kind,
			Map<String, Object> attributes, List<String> events, int statusCode) {

		public Object attribute(String key) {
			return this.attributes.get(key);
		}

	}

	private static int indexOf(byte[] haystack, byte[] needle) {
		outer: for (int i = 0; i <= haystack.length - needle.length; i++) {
			for (int j = 0; j < needle.length; j++) {
				if (haystack[i + j] != needle[j]) {
					continue outer;
				}
			}
			return i;
		}
		return -1;
	}

	// ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1 }
	// ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2 }
	// ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2 }
	static List<ExportedSpan> decode(byte[] body) {
		List<ExportedSpan> spans = new ArrayList<>();
		Proto request = new Proto(body);
		while (request.next()) {
			if (request.field() != 1) {
				request.skip();
				continue;
			}
			Proto resourceSpans = request.message();
			while (resourceSpans.next()) {
				if (resourceSpans.field() != 2) {
					resourceSpans.skip();
					continue;
				}
				Proto scopeSpans = resourceSpans.message();
				while (scopeSpans.next()) {
					if (scopeSpans.field() == 2) {
						spans.add(span(scopeSpans.message()));
					}
					else {
						scopeSpans.skip();
					}
				}
			}
		}
		return spans;
	}

	// Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5;
	// SpanKind kind = 6; repeated KeyValue attributes = 9; repeated Event events = 11; Status status = 15 }
	private static ExportedSpan span(Proto span) {
		HexFormat hex = HexFormat.of();
		String traceId = "";
		String spanId = "";
		String parentSpanId = "";
		String name = "";
		int kind = 0;
		int statusCode = 0;
		Map<String, Object> attributes = new LinkedHashMap<>();
		List<String> events = new ArrayList<>();
		while (span.next()) {
			switch (span.field()) {
				case 1 -> traceId = hex.formatHex(span.bytes());
				case 2 -> spanId = hex.formatHex(span.bytes());
				case 4 -> parentSpanId = hex.formatHex(span.bytes());
				case 5 -> name = span.string();
				case 6 -> kind = (int) span.varint();
				case 9 -> keyValue(span.message(), attributes);
				case 11 -> events.add(eventName(span.message()));
				case 15 -> statusCode = statusCode(span.message());
				default -> span.skip();
			}
		}
		return new ExportedSpan(traceId, spanId, parentSpanId, name, kind, Map.copyOf(attributes), List.copyOf(events),
				statusCode);
	}

	// KeyValue { string key = 1; AnyValue value = 2 }
	// AnyValue { string_value = 1; bool_value = 2; int_value = 3; double_value = 4; ... }
	private static void keyValue(Proto keyValue, Map<String, Object> into) {
		String key = null;
		Object value = null;
		while (keyValue.next()) {
			if (keyValue.field() == 1) {
				key = keyValue.string();
			}
			else if (keyValue.field() == 2) {
				Proto any = keyValue.message();
				while (any.next()) {
					switch (any.field()) {
						case 1 -> value = any.string();
						case 2 -> value = any.varint() != 0;
						case 3 -> value = any.varint();
						case 4 -> value = Double.longBitsToDouble(any.fixed64());
						default -> {
							value = "(unsupported)";
							any.skip();
						}
					}
				}
			}
			else {
				keyValue.skip();
			}
		}
		if (key != null) {
			into.put(key, value);
		}
	}

	// Event { fixed64 time_unix_nano = 1; string name = 2; ... }
	private static String eventName(Proto event) {
		String name = "";
		while (event.next()) {
			if (event.field() == 2) {
				name = event.string();
			}
			else {
				event.skip();
			}
		}
		return name;
	}

	// Status { string message = 2; StatusCode code = 3 }
	private static int statusCode(Proto status) {
		int code = 0;
		while (status.next()) {
			if (status.field() == 3) {
				code = (int) status.varint();
			}
			else {
				status.skip();
			}
		}
		return code;
	}

	/** Reads protobuf's wire format: a tag, then a varint, a fixed 32/64-bit value or a length-prefixed run. */
	private static final class Proto {

		private final byte[] buffer;

		private int position;

		private final int end;

		private int tag;

		Proto(byte[] buffer) {
			this(buffer, 0, buffer.length);
		}

		private Proto(byte[] buffer, int start, int end) {
			this.buffer = buffer;
			this.position = start;
			this.end = end;
		}

		boolean next() {
			if (this.position >= this.end) {
				return false;
			}
			this.tag = (int) varint();
			return true;
		}

		int field() {
			return this.tag >>> 3;
		}

		long varint() {
			long value = 0;
			for (int shift = 0; shift < 64; shift += 7) {
				byte b = this.buffer[this.position++];
				value |= (long) (b & 0x7F) << shift;
				if ((b & 0x80) == 0) {
					return value;
				}
			}
			throw new IllegalStateException("malformed varint");
		}

		long fixed64() {
			long value = ByteBuffer.wrap(this.buffer, this.position, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
			this.position += 8;
			return value;
		}

		byte[] bytes() {
			int length = (int) varint();
			byte[] value = new byte[length];
			System.arraycopy(this.buffer, this.position, value, 0, length);
			this.position += length;
			return value;
		}

		String string() {
			return new String(bytes(), StandardCharsets.UTF_8);
		}

		Proto message() {
			int length = (int) varint();
			Proto message = new Proto(this.buffer, this.position, this.position + length);
			this.position += length;
			return message;
		}

		void skip() {
			switch (this.tag & 7) {
				case 0 -> varint();
				case 1 -> this.position += 8;
				case 2 -> {
					int length = (int) varint();
					this.position += length;
				}
				case 5 -> this.position += 4;
				default -> throw new IllegalStateException("unsupported wire type " + (this.tag & 7));
			}
		}

	}

}
