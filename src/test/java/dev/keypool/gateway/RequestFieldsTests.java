package dev.keypool.gateway;

import java.nio.charset.StandardCharsets;

import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import reactor.core.publisher.Flux;

import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DefaultDataBufferFactory;
import org.springframework.core.io.buffer.NettyDataBufferFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

class RequestFieldsTests {

	private static final NettyDataBufferFactory NETTY = new NettyDataBufferFactory(PooledByteBufAllocator.DEFAULT);

	@ParameterizedTest
	@CsvSource(delimiter = '|', nullValues = "null", value = {
			"{\"model\":\"claude-opus-4-7\",\"max_tokens\":10}|claude-opus-4-7",
			"  {\t \"max_tokens\": 10, \"model\" : \"claude-3-5-haiku-20241022\"}|claude-3-5-haiku-20241022",
			"{\"\\u006dodel\":\"claude-opus-4-7\"}|claude-opus-4-7",
			"{\"model\":\"claude-\\u006fpus-4-7\"}|claude-opus-4-7",
			"{\"metadata\":{\"model\":\"inner\"},\"model\":\"outer\"}|outer",
			"{\"messages\":[{\"content\":\"say \\\"model\\\": x\"}],\"model\":\"m\"}|m",
			"{\"messages\":[{\"model\":\"nested\"},{\"model\":\"twice\"}]}|null",
			"{\"model\":42}|''", "{\"model\":null}|''", "{\"model\":{\"id\":\"claude-opus-4-7\"}}|''",
			"{\"max_tokens\":10,\"model\"|''", "{\"model\":\"claude-opus-4-7\",\"x\":NaN}|claude-opus-4-7",
			"not json|null", "[1,2]|null", "\"model\"|null", "''|null",
			"{\"model\":\"evil\\r\\n\\u001b[31m\"}|evil___[31m" })
	void modelIsTheTopLevelMemberAsAJsonParserReadsIt(String body, String expected) {
		assertThat(parse(body).model()).isEqualTo(expected);
	}

	@ParameterizedTest
	@CsvSource(delimiter = '|', value = { "{\"max_tokens\":4096}|4096", "{\"max_tokens\":\"4096\"}|-1",
			"{\"max_tokens\":4096.5}|-1", "{\"max_tokens\":-3}|-1", "{\"max_tokens\":99999999999999999999999}|"
					+ Long.MAX_VALUE,
			"{\"messages\":[{\"max_tokens\":7}]}|-1", "{}|-1", "{\"max_tokens\":1,\"max_tokens\":2}|2" })
	void maxTokensIsTheTopLevelInteger(String body, long expected) {
		assertThat(parse(body).maxTokens()).isEqualTo(expected);
	}

	@ParameterizedTest
	@CsvSource(delimiter = '|', value = { "{\"stream\":true}|true", "{\"stream\":false}|false",
			"{\"stream\":\"true\"}|false", "{\"metadata\":{\"stream\":true}}|false", "{}|false" })
	void streamIsTheTopLevelTrue(String body, boolean expected) {
		assertThat(parse(body).stream()).isEqualTo(expected);
	}

	@Test
	void twoTopLevelModelMembersAreRefused() {
		assertThatExceptionOfType(RequestFields.DuplicateModel.class)
			.isThrownBy(() -> parse("{\"model\":\"claude-haiku-4-5\",\"model\":\"claude-opus-4-7\"}"));
		assertThatExceptionOfType(RequestFields.DuplicateModel.class)
			.isThrownBy(() -> parse("{\"model\":\"claude-haiku-4-5\",\"\\u006dodel\":\"claude-opus-4-7\"}"));
	}

	@Test
	void aModelThatIsNotAStringIsSkippedAndTheRestOfTheBodyRead() {
		assertThat(parse("{\"model\":[\"a\",{\"model\":\"b\"}],\"stream\":{\"model\":1},\"max_tokens\":9}"))
			.isEqualTo(new RequestFields("", 9, false));
		assertThatExceptionOfType(RequestFields.DuplicateModel.class)
			.isThrownBy(() -> parse("{\"model\":{\"x\":[1]},\"model\":\"claude-opus-4-7\"}"));
	}

	@Test
	void theWholeBodyIsReadHoweverFarDownTheModelIs() {
		String body = "{\"messages\":[{\"content\":\"" + "x".repeat(2 * 1024 * 1024) + "\"}],\"stream\":true,"
				+ "\"model\":\"claude-opus-4-7\"}";

		RequestFields fields = parse(body);

		assertThat(fields.model()).isEqualTo("claude-opus-4-7");
		assertThat(fields.stream()).isTrue();
	}

	@Test
	void aStringLongerThanJacksonsLimitIsSkippedUnread() {
		String body = "{\"system\":\"" + "x".repeat(21_000_000) + "\",\"model\":\"claude-opus-4-7\"}";

		assertThat(parse(body).model()).isEqualTo("claude-opus-4-7");
	}

	@Test
	void aNestingTooDeepToParseStillHasAModelClassNotTheKeyWideScope() {
		String body = "{\"x\":" + "[".repeat(5000) + "]".repeat(5000) + "}";

		assertThat(parse(body).model()).isEmpty();
	}

	@Test
	void aLongModelIsCut() {
		assertThat(parse("{\"model\":\"" + "m".repeat(10_000) + "\"}").model()).hasSize(256);
	}

	@Test
	void aBodyInANettyBufferIsReadInPlace() {
		CachedBody body = cached(NETTY, "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":5}");
		try {
			assertThat(RequestFields.parse(body)).isEqualTo(new RequestFields("claude-sonnet-4-6", 5, false));
		}
		finally {
			body.release();
		}
	}

	private static RequestFields parse(String body) {
		CachedBody cached = cached(DefaultDataBufferFactory.sharedInstance, body);
		try {
			return RequestFields.parse(cached);
		}
		finally {
			cached.release();
		}
	}

	private static CachedBody cached(org.springframework.core.io.buffer.DataBufferFactory factory, String body) {
		byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
		if (bytes.length == 0) {
			return CachedBody.EMPTY;
		}
		DataBuffer buffer = factory.wrap(bytes);
		return CachedBody.read(Flux.just(buffer), bytes.length, bytes.length, new BufferBudget(bytes.length),
				factory).block();
	}

}
