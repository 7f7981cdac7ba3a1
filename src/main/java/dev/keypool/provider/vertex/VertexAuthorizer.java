package dev.keypool.provider.vertex;

import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.keypool.provider.AttemptRequest;
import dev.keypool.provider.Authorized;
import dev.keypool.provider.KeyAuthorizer;

/**
 * Sends an attempt to the key's own project and region with the key's access token:
 * {@code /v1/projects/{project}/locations/{region}/...} is rewritten to the key's, so each
 * service account is used in the project whose quota it was given.
 */
final class VertexAuthorizer implements KeyAuthorizer {

	private static final Pattern PROJECT_PATH = Pattern.compile("^(/v1(?:beta1)?/projects/)[^/]+(/locations/)[^/]+(/.*)$");

	private final AccessTokens tokens;

	private final String project;

	private final String region;

	VertexAuthorizer(AccessTokens tokens, String project, String region) {
		this.tokens = tokens;
		this.project = project;
		this.region = region;
	}

	@Override
	public CompletionStage<Authorized> authorize(AttemptRequest request) {
		String path = ownPath(request.rawPath());
		return this.tokens.token().thenApply((token) -> new Authorized(path, Map.of("authorization", "Bearer " + token)));
	}

	String ownPath(String rawPath) {
		Matcher matcher = PROJECT_PATH.matcher(rawPath);
		if (!matcher.matches()) {
			return rawPath;
		}
		return matcher.group(1) + this.project + matcher.group(2) + this.region + matcher.group(3);
	}

}
