package dev.keypool.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.springframework.cloud.gateway.filter.FilterDefinition;
import org.springframework.cloud.gateway.filter.factory.GatewayFilterFactory;
import org.springframework.cloud.gateway.handler.predicate.PredicateDefinition;
import org.springframework.cloud.gateway.handler.predicate.RoutePredicateFactory;
import org.springframework.cloud.gateway.route.RouteDefinition;

/**
 * The filter and predicate names routes may use, as Spring Cloud Gateway resolves them
 * ({@code GatewayFilterFactory#name()}). A route naming another one ({@code KeyFailovr=main})
 * would otherwise fail with a stack trace when the routes are first loaded, or be dropped at a
 * reload; checked with the rest of the configuration instead, one line per name.
 */
public record RouteFactoryNames(Set<String> filters, Set<String> predicates) {

	private static final String ROUTES = "spring.cloud.gateway.server.webflux.routes";

	public RouteFactoryNames {
		filters = Set.copyOf(filters);
		predicates = Set.copyOf(predicates);
	}

	public static RouteFactoryNames of(Stream<GatewayFilterFactory<?>> filters,
			Stream<RoutePredicateFactory<?>> predicates) {
		return new RouteFactoryNames(filters.map(GatewayFilterFactory::name).collect(Collectors.toSet()),
				predicates.map(RoutePredicateFactory::name).collect(Collectors.toSet()));
	}

	/** Every filter or predicate name no factory has, naming the route; empty when all are known. */
	public List<String> problems(List<RouteDefinition> routes) {
		List<String> problems = new ArrayList<>();
		for (int r = 0; r < routes.size(); r++) {
			RouteDefinition route = routes.get(r);
			List<PredicateDefinition> predicateDefinitions = route.getPredicates();
			for (int p = 0; p < predicateDefinitions.size(); p++) {
				check(ROUTES + "[" + r + "].predicates[" + p + "]", route, "predicate",
						predicateDefinitions.get(p).getName(), this.predicates, problems);
			}
			List<FilterDefinition> filterDefinitions = route.getFilters();
			for (int f = 0; f < filterDefinitions.size(); f++) {
				check(ROUTES + "[" + r + "].filters[" + f + "]", route, "filter", filterDefinitions.get(f).getName(),
						this.filters, problems);
			}
		}
		return problems;
	}

	private static void check(String path, RouteDefinition route, String kind, String name, Set<String> known,
			List<String> problems) {
		if (known.isEmpty() || known.contains(name)) {
			return;
		}
		String closest = null;
		int best = Math.max(2, String.valueOf(name).length() / 3) + 1;
		for (String candidate : new TreeSet<>(known)) {
			int distance = NoPoolsExplanation.distance(String.valueOf(name).toLowerCase(Locale.ROOT),
					candidate.toLowerCase(Locale.ROOT));
			if (distance < best) {
				best = distance;
				closest = candidate;
			}
		}
		problems.add(path + ": route '" + route.getId() + "' names unknown " + kind + " '" + name + "'"
				+ ((closest != null) ? " (did you mean " + closest + "?)" : ""));
	}

}
