package dev.keypool.gateway;

import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import org.springframework.http.HttpHeaders;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client token is either a credential header's whole value, or refused: never part of one.
 */
class CallerResolverTests {

	static final String TOKEN = "client-token-resolver-0001";

	final CallerResolver callers = new CallerResolver(Map.of("team-a", TOKEN));

	@ParameterizedTest(name = "{0}")
	@CsvSource(delimiter = '|', textBlock = """
			merged api keys               | x-api-key=sk-own, client-token-resolver-0001             | true
			two api key lines             | x-api-key=sk-own  ; x-api-key=client-token-resolver-0001 | true
			the token twice               | x-api-key=client-token-resolver-0001 ; x-api-key=client-token-resolver-0001 | true
			no scheme                     | Authorization=client-token-resolver-0001                 | true
			a bearer list                 | Authorization=Bearer client-token-resolver-0001, Bearer x | true
			another scheme                | Authorization=Basic client-token-resolver-0001           | true
			the token as an api key       | x-api-key= client-token-resolver-0001                    | false
			the token as a bearer         | Authorization=Bearer client-token-resolver-0001          | false
			own key beside a bearer token | x-api-key=sk-own ; Authorization=Bearer client-token-resolver-0001 | false
			an own key only               | x-api-key=sk-own, other                                  | false
			a longer value with the token | x-api-key=client-token-resolver-0001x                    | false
			""")
	void findsATokenInsideACredentialHeader(String description, String headerList, boolean hidden) {
		HttpHeaders headers = new HttpHeaders();
		for (String header : headerList.split(";")) {
			String[] nameValue = header.trim().split("=", 2);
			headers.add(nameValue[0], nameValue[1]);
		}

		assertThat(this.callers.hidesClientToken(headers)).isEqualTo(hidden);
	}

}
