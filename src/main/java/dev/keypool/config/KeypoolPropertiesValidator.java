package dev.keypool.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.function.Supplier;

import dev.keypool.config.KeypoolProperties.Client;
import dev.keypool.config.KeypoolProperties.Limits;
import dev.keypool.config.KeypoolProperties.Key;
import dev.keypool.config.KeypoolProperties.Pool;
import dev.keypool.provider.ProviderDialect;
import dev.keypool.provider.ProviderDialects;
import dev.keypool.provider.bedrock.BedrockDialect;

import org.springframework.cloud.gateway.filter.FilterDefinition;
import org.springframework.cloud.gateway.route.RouteDefinition;

/**
 * Checks the whole configuration at startup, so a mistake stops the gateway with a message
 * naming the property instead of surfacing as failed requests later. Each problem is one
 * line: {@code <property path>: <what is wrong>}. Messages never contain a secret.
 */
public final class KeypoolPropertiesValidator {

	/** The filter name used in route definitions ({@code KeyFailover=<pool>}). */
	public static final String FILTER_NAME = "KeyFailover";

	private static final String ROUTES = "spring.cloud.gateway.server.webflux.routes";

	/** A {@code ${NAME}} left in a value because nothing defined {@code NAME}. */
	private static final Pattern UNRESOLVED_PLACEHOLDER = Pattern.compile("\\$\\{([^}:]*)[^}]*}");

	private static final Duration MAX_WAIT = Duration.ofSeconds(60);

	/** Client ids that label callers without a client token in metrics and logs. */
	private static final Set<String> RESERVED_CLIENT_IDS = Set.of("anonymous", "byok");

	/** Pool names and client ids are the hash tags of their Redis keys ({@code {<pool>}}). */
	private static final String BRACES = "must not contain '{' or '}' (it is the hash tag of its Redis keys)";

	/** An AWS Bedrock runtime endpoint, and its region. */
	private static final Pattern BEDROCK_ENDPOINT = Pattern
		.compile("bedrock-runtime(?:-fips)?\\.([a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?");

	private final ProviderDialects dialects;

	private final Supplier<String> noPools;

	/** Checks with a generic explanation when a route names a pool and none is configured. */
	public KeypoolPropertiesValidator(ProviderDialects dialects) {
		this(dialects, () -> "no pools are configured");
	}

	/**
	 * @param dialects the known providers, each checking its keys' credentials
	 * @param noPools explains, when a route names a pool and none is configured, why that
	 * is (see {@link NoPoolsExplanation})
	 */
	public KeypoolPropertiesValidator(ProviderDialects dialects, Supplier<String> noPools) {
		this.dialects = dialects;
		this.noPools = noPools;
	}

	/** Every problem found, empty when the configuration is valid. */
	public List<String> validate(KeypoolProperties properties, List<RouteDefinition> routes) {
		List<String> problems = new ArrayList<>();
		if (properties.maxRequestBody() == null || properties.maxRequestBody().toBytes() <= 0) {
			problems.add("keypool.max-request-body: must be a positive size such as 32MB");
		}
		if (properties.state().redis().resyncInterval() == null
				|| !positive(properties.state().redis().resyncInterval())) {
			problems.add("keypool.state.redis.resync-interval: must be a positive duration such as 30s");
		}
		if (isBlank(properties.state().redis().prefix())) {
			problems.add("keypool.state.redis.prefix: must not be blank");
		}
		if (properties.maxBufferedBytes() == null || properties.maxBufferedBytes().toBytes() <= 0) {
			problems.add("keypool.max-buffered-bytes: must be a positive size such as 256MB");
		}
		else if (properties.maxRequestBody() != null
				&& properties.maxBufferedBytes().toBytes() < properties.maxRequestBody().toBytes()) {
			problems.add("keypool.max-buffered-bytes: must be at least keypool.max-request-body ("
					+ properties.maxRequestBody() + "), or the largest allowed request could never be served");
		}
		if (properties.streamIdleTimeout() == null || !positive(properties.streamIdleTimeout())) {
			problems.add("keypool.stream-idle-timeout: must be a positive duration such as 120s");
		}
		if (properties.requestBodyTimeout() == null || !positive(properties.requestBodyTimeout())) {
			problems.add("keypool.request-body-timeout: must be a positive duration such as 30s");
		}
		if (properties.reload() == null || properties.reload().interval() == null
				|| properties.reload().interval().isNegative()) {
			problems.add("keypool.reload.interval: must be a duration such as 10s, or 0 for off");
		}
		checkResolved("keypool.admin.token", properties.admin().token(), problems);
		validateClients(properties.clients(), problems);
		properties.pools().forEach((name, pool) -> validatePool(name, pool, problems));
		validateRoutes(properties.pools(), routes, problems);
		return problems;
	}

	private void validateClients(List<Client> clients, List<String> problems) {
		Set<String> ids = new HashSet<>();
		Set<String> tokens = new HashSet<>();
		for (int i = 0; i < clients.size(); i++) {
			Client client = clients.get(i);
			String path = "keypool.clients[" + i + "]";
			if (isBlank(client.id())) {
				problems.add(path + ".id: must not be blank");
			}
			else if (!ids.add(client.id())) {
				problems.add(path + ".id: duplicate client id '" + client.id() + "'");
			}
			else if (RESERVED_CLIENT_IDS.contains(client.id())) {
				problems.add(path + ".id: '" + client.id() + "' is reserved (it labels callers without a client token)");
			}
			else if (hasBraces(client.id())) {
				problems.add(path + ".id: " + BRACES);
			}
			validateLimits(path + ".limits", client.limits(), problems);
			if (isBlank(client.token())) {
				problems.add(path + ".token: must not be blank");
			}
			else if (checkResolved(path + ".token", client.token(), problems) && !tokens.add(client.token())) {
				problems.add(path + ".token: the same token is configured for another client");
			}
		}
	}

	private static void validateLimits(String path, Limits limits, List<String> problems) {
		if (limits == null) {
			return;
		}
		positive(path + ".requests-per-minute", limits.requestsPerMinute(), problems);
		positive(path + ".tokens-per-minute", limits.tokensPerMinute(), problems);
		positive(path + ".tokens-per-day", limits.tokensPerDay(), problems);
	}

	private static void positive(String path, Long limit, List<String> problems) {
		if (limit != null && limit <= 0) {
			problems.add(path + ": must be positive (leave it out for no limit)");
		}
	}

	private void validatePool(String name, Pool pool, List<String> problems) {
		String path = "keypool.pools." + name;
		if (hasBraces(name)) {
			problems.add(path + ": " + BRACES);
		}
		if (this.dialects.get(pool.provider()).isEmpty()) {
			problems.add(path + ".provider: unknown provider '" + pool.provider() + "' (known: "
					+ String.join(", ", this.dialects.names()) + ")");
		}
		boolean cooldownsValid = checkCooldown(path + ".default-cooldown", pool.defaultCooldown(), problems)
				& checkCooldown(path + ".max-cooldown", pool.maxCooldown(), problems)
				& checkCooldown(path + ".min-cooldown", pool.minCooldown(), problems);
		if (cooldownsValid && pool.maxCooldown().compareTo(pool.defaultCooldown()) < 0) {
			problems.add(path + ".max-cooldown: " + pool.maxCooldown().toSeconds()
					+ "s is below default-cooldown (" + pool.defaultCooldown().toSeconds() + "s)");
		}
		if (cooldownsValid && pool.minCooldown().compareTo(pool.defaultCooldown()) > 0) {
			problems.add(path + ".min-cooldown: " + pool.minCooldown().toSeconds()
					+ "s is above default-cooldown (" + pool.defaultCooldown().toSeconds() + "s)");
		}
		checkStatuses(path + ".cooldown-on", pool.cooldownOn(), problems);
		checkStatuses(path + ".disable-on", pool.disableOn(), problems);
		for (Integer status : pool.disableOn()) {
			if (pool.cooldownOn().contains(status)) {
				problems.add(path + ".disable-on: status " + status + " is also in cooldown-on; a status can do only one");
			}
		}
		validateScheduling(path, pool, problems);
		if (pool.keys().isEmpty()) {
			problems.add(path + ".keys: a pool needs at least one key");
		}
		Set<String> ids = new HashSet<>();
		for (int i = 0; i < pool.keys().size(); i++) {
			Key key = pool.keys().get(i);
			String keyPath = path + ".keys[" + i + "]";
			if (isBlank(key.id())) {
				problems.add(keyPath + ".id: must not be blank");
			}
			else if (!ids.add(key.id())) {
				problems.add(keyPath + ".id: duplicate key id '" + key.id() + "'");
			}
			boolean resolved = checkResolved(keyPath + ".secret", key.secret(), problems)
					& checkResolved(keyPath + ".access-key-id", key.accessKeyId(), problems)
					& checkResolved(keyPath + ".secret-access-key", key.secretAccessKey(), problems)
					& checkResolved(keyPath + ".session-token", key.sessionToken(), problems)
					& checkResolved(keyPath + ".credentials", key.credentials(), problems);
			ProviderDialect dialect = this.dialects.get(pool.provider()).orElse(null);
			if (resolved && dialect != null) {
				for (String problem : dialect.credentialProblems(KeypoolConfiguration.credentials(key))) {
					problems.add(keyPath + "." + problem);
				}
			}
			if (key.group() != null && key.group().isBlank()) {
				problems.add(keyPath + ".group: must not be blank when set");
			}
		}
	}

	private static void validateScheduling(String path, Pool pool, List<String> problems) {
		if (Strategies.of(pool.strategy()) == null) {
			problems.add(path + ".strategy: unknown strategy '" + pool.strategy() + "' (known: "
					+ String.join(", ", Strategies.NAMES) + ")");
		}
		if (pool.stickySessions() && isBlank(pool.sessionHeader())) {
			problems.add(path + ".session-header: must not be blank while sticky-sessions is on");
		}
		if (pool.minRemainingTokens() < 0) {
			problems.add(path + ".min-remaining-tokens: must not be negative");
		}
		if (pool.maxWait() == null || pool.maxWait().isNegative()) {
			problems.add(path + ".max-wait: must not be negative (0 turns waiting off)");
		}
		else if (pool.maxWait().compareTo(MAX_WAIT) > 0) {
			problems.add(path + ".max-wait: must be at most 60s (Claude Code gives up on longer waits)");
		}
		if (pool.maxWaiting() < 0) {
			problems.add(path + ".max-waiting: must not be negative");
		}
	}

	private void validateRoutes(Map<String, Pool> pools, List<RouteDefinition> routes, List<String> problems) {
		for (int r = 0; r < routes.size(); r++) {
			List<FilterDefinition> filters = routes.get(r).getFilters();
			for (int f = 0; f < filters.size(); f++) {
				FilterDefinition filter = filters.get(f);
				if (!FILTER_NAME.equals(filter.getName())) {
					continue;
				}
				String path = ROUTES + "[" + r + "].filters[" + f + "]";
				String pool = poolArgument(filter);
				if (isBlank(pool)) {
					problems.add(path + ": KeyFailover needs a pool name (KeyFailover=<pool>)");
				}
				else if (!pools.containsKey(pool)) {
					problems.add(path + ": KeyFailover names unknown pool '" + pool + "' ("
							+ (pools.isEmpty() ? this.noPools.get() : "configured: " + String.join(", ", pools.keySet()))
							+ ")");
				}
				else {
					checkSigningRegions(pool, pools.get(pool), routes.get(r), r, problems);
				}
			}
		}
	}

	/**
	 * A Bedrock key signs for its own region; sent to an AWS endpoint of another region, every
	 * request would be refused and the key disabled. Endpoints of other shapes (a VPC endpoint,
	 * a proxy) are not judged.
	 */
	private static void checkSigningRegions(String poolName, Pool pool, RouteDefinition route, int routeIndex,
			List<String> problems) {
		if (!BedrockDialect.NAME.equals(pool.provider()) || route.getUri() == null || route.getUri().getHost() == null) {
			return;
		}
		Matcher endpoint = BEDROCK_ENDPOINT.matcher(route.getUri().getHost());
		if (!endpoint.matches()) {
			return;
		}
		String endpointRegion = endpoint.group(1);
		for (int i = 0; i < pool.keys().size(); i++) {
			String region = pool.keys().get(i).region();
			if (!isBlank(region) && !region.equals(endpointRegion)) {
				problems.add("keypool.pools." + poolName + ".keys[" + i + "].region: '" + region
						+ "' is not the region of the route's endpoint ('" + endpointRegion + "', " + ROUTES + "["
						+ routeIndex + "].uri); its signatures would be refused there");
			}
		}
	}

	/**
	 * What is allowed but probably a mistake: a pool key sent in clear text to a plain
	 * {@code http://} upstream, a pool that no route uses.
	 */
	public List<String> warnings(KeypoolProperties properties, List<RouteDefinition> routes) {
		List<String> warnings = new ArrayList<>();
		Set<String> usedPools = new HashSet<>();
		for (int r = 0; r < routes.size(); r++) {
			RouteDefinition route = routes.get(r);
			for (FilterDefinition filter : route.getFilters()) {
				if (!FILTER_NAME.equals(filter.getName())) {
					continue;
				}
				String pool = poolArgument(filter);
				usedPools.add(pool);
				if (route.getUri() != null && "http".equalsIgnoreCase(route.getUri().getScheme())
						&& !isLoopback(route.getUri().getHost())) {
					warnings.add(ROUTES + "[" + r + "].uri: plain http:// upstream " + route.getUri().getHost()
							+ " for pool '" + pool + "': its keys travel in clear text");
				}
			}
		}
		for (String pool : properties.pools().keySet()) {
			if (!usedPools.contains(pool)) {
				warnings.add("keypool.pools." + pool + ": no route uses this pool (add KeyFailover=" + pool
						+ " to a route's filters)");
			}
		}
		return warnings;
	}

	private static boolean isLoopback(String host) {
		return host != null && (host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]"));
	}

	/** The pools a route's {@code KeyFailover} filters name. */
	public static Set<String> pools(RouteDefinition route) {
		Set<String> pools = new LinkedHashSet<>();
		for (FilterDefinition filter : route.getFilters()) {
			if (FILTER_NAME.equals(filter.getName())) {
				String pool = poolArgument(filter);
				if (!isBlank(pool)) {
					pools.add(pool);
				}
			}
		}
		return pools;
	}

	/** {@code KeyFailover=anthropic} arrives as a generated key; {@code args: {pool: ...}} by name. */
	static String poolArgument(FilterDefinition filter) {
		Map<String, String> args = filter.getArgs();
		if (args.containsKey("pool")) {
			return args.get("pool");
		}
		return args.isEmpty() ? null : args.values().iterator().next();
	}

	/** A cooldown of zero would leave a limited key in rotation; a bare number means seconds. */
	private static boolean checkCooldown(String path, Duration duration, List<String> problems) {
		if (duration == null || duration.isNegative()) {
			problems.add(path + ": must not be negative");
			return false;
		}
		if (duration.isZero()) {
			problems.add(path + ": must be positive, such as 60s (a bare number means seconds)");
			return false;
		}
		return true;
	}

	/**
	 * Spring leaves {@code ${NAME}} as it is when nothing defines {@code NAME}; such a literal
	 * must never become a credential. Names the variable, never the value.
	 */
	private static boolean checkResolved(String path, String value, List<String> problems) {
		if (value == null) {
			return true;
		}
		Matcher placeholder = UNRESOLVED_PLACEHOLDER.matcher(value);
		if (placeholder.find()) {
			problems.add(path + ": placeholder ${" + placeholder.group(1)
					+ "} did not resolve; set the environment variable or property " + placeholder.group(1));
			return false;
		}
		return true;
	}

	private static void checkStatuses(String path, Set<Integer> statuses, List<String> problems) {
		for (Integer status : statuses) {
			if (status == null || status < 400 || status > 599) {
				problems.add(path + ": " + status + " is not an HTTP error status (400-599)");
			}
		}
	}

	private static boolean positive(Duration duration) {
		return !duration.isNegative() && !duration.isZero();
	}

	private static boolean hasBraces(String name) {
		return name.indexOf('{') >= 0 || name.indexOf('}') >= 0;
	}

	private static boolean isBlank(String value) {
		return value == null || value.isBlank();
	}

}
