#!/usr/bin/env bash
# Benchmark of keypool-gateway against its targets (issue 7); writes bench/RESULTS.md.
#
#   bench/run.sh            # about 6 minutes on 2 cores
#
# Everything runs on loopback: nginx (canned Messages API JSON), a streaming upstream, the
# gateway jar with a KeyFailover route and the same route without the filter, a plain nginx
# reverse proxy as the reference for the fastest possible proxy, wrk and a small SSE client. Everything it starts is stopped when it ends, however it ends.
# Knobs (environment): BENCH_SECONDS (per measured run, default 10, run twice per route,
# alternating), BENCH_WARMUP (default 10), BENCH_CONNECTIONS (default 64), BENCH_STREAMS
# (slow streams, default 1000), BENCH_*_PORT, BENCH_GATEWAY_HEAP (default 256m),
# BENCH_JFR=1 to record a flight recording of the gateway into bench/out/gateway.jfr.

source "$(dirname "$0")/lib.sh"

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
STREAMS=${BENCH_STREAMS:-1000}
ROUNDS=2
STARTED=$(date +%s)

bench_init
ensure_tools
{
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "cpu=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
	echo "cores=$(nproc)"
	echo "memory=$(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "kernel=$(uname -r)"
	echo "jdk=$(java -version 2>&1 | head -2 | tail -1)"
	echo "nginx=$(nginx -v 2>&1 | sed 's/.*: //')"
	echo "wrk=$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
	echo "git=$(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD -- src pom.xml || echo '+dirty')"
	echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "seconds_per_run=$SECONDS_PER_RUN"
	echo "rounds=$ROUNDS"
	echo "warmup=$WARMUP"
	echo "connections=$CONNECTIONS"
	echo "streams=$STREAMS"
	echo "heap=$GATEWAY_HEAP"
} >"$OUT/meta.properties"

build

log "JMH: pool hot path (nothing else running)"
java -cp "$ROOT/target/test-classes:$ROOT/target/classes:$(cat "$OUT/jmh.classpath")" org.openjdk.jmh.Main \
	'dev.keypool.pool.KeyPoolBenchmark' -prof gc -rf json -rff "$OUT/jmh.json" >"$OUT/jmh.txt" 2>&1 \
	|| { tail -30 "$OUT/jmh.txt" >&2; exit 1; }
grep -E '^KeyPoolBenchmark\.' "$OUT/jmh.txt" | grep -E ' ns/op|alloc.rate.norm' | sed 's/^/    /' >&2

log "starting nginx, the nginx reference proxy, the streaming upstream and the gateway (-Xmx$GATEWAY_HEAP)"
start_nginx
start_nginx_proxy
start_sse_upstream
JFR_OPTS=()
if [ "${BENCH_JFR:-0}" = 1 ]; then
	JFR_OPTS=(-XX:StartFlightRecording=filename="$OUT/gateway.jfr",settings=profile)
fi
start_gateway "${JFR_OPTS[@]}"

log "warm-up: ${WARMUP}s per route at $CONNECTIONS connections"
wrk_run warmup-failover "$GATEWAY/v1/messages" "$CONNECTIONS" 2 "$WARMUP"
wrk_run warmup-plain "$GATEWAY/plain/v1/messages" "$CONNECTIONS" 2 "$WARMUP"
wrk_run warmup-direct "$DIRECT/v1/messages" 4 1 3
wrk_run warmup-proxy "$PROXY/v1/messages" "$CONNECTIONS" 2 3

log "throughput: $CONNECTIONS connections, ${SECONDS_PER_RUN}s x $ROUNDS per route, alternating"
for round in $(seq "$ROUNDS"); do
	wrk_run "load-plain-$round" "$GATEWAY/plain/v1/messages" "$CONNECTIONS" 2 "$SECONDS_PER_RUN" "$GATEWAY_PID"
	wrk_run "load-failover-$round" "$GATEWAY/v1/messages" "$CONNECTIONS" 2 "$SECONDS_PER_RUN" "$GATEWAY_PID"
	wrk_run "load-nginxproxy-$round" "$PROXY/v1/messages" "$CONNECTIONS" 2 "$SECONDS_PER_RUN" "$PROXY_PID"
done

log "latency: 1 connection, ${SECONDS_PER_RUN}s x $ROUNDS per target, alternating"
for round in $(seq "$ROUNDS"); do
	wrk_run "latency-direct-$round" "$DIRECT/v1/messages" 1 1 "$SECONDS_PER_RUN"
	wrk_run "latency-plain-$round" "$GATEWAY/plain/v1/messages" 1 1 "$SECONDS_PER_RUN"
	wrk_run "latency-failover-$round" "$GATEWAY/v1/messages" 1 1 "$SECONDS_PER_RUN"
	wrk_run "latency-nginxproxy-$round" "$PROXY/v1/messages" 1 1 "$SECONDS_PER_RUN"
done

sse_client() {
	java -Xmx512m -cp "$OUT/classes:$OUT/lib/*" SseClient "$@"
}

log "SSE: first-event latency, 300 streams 10 at a time (after 200 warm-up streams)"
sse_client "$GATEWAY/sse/v1/messages" 200 20 5 20 20 "$BENCH_TOKEN" >"$OUT/sse-warmup.txt" 2>&1
sse_client "http://127.0.0.1:$BENCH_SSE_PORT/v1/messages" 300 10 5 20 20 "$BENCH_TOKEN" >"$OUT/sse-direct.txt" 2>&1
sse_client "$GATEWAY/sse-plain/v1/messages" 300 10 5 20 20 "$BENCH_TOKEN" >"$OUT/sse-plain.txt" 2>&1
sse_client "$GATEWAY/sse/v1/messages" 300 10 5 20 20 "$BENCH_TOKEN" >"$OUT/sse-gateway.txt" 2>&1
for f in sse-direct sse-plain sse-gateway; do
	sed -n 's/^RESULT //p' "$OUT/$f.txt" >"$OUT/$f.json"
	log "  $f: $(cat "$OUT/$f.json")"
done

log "slow streams: $STREAMS at once, 20 events 500 ms apart, through the failover route"
gateway_memory >"$OUT/memory-before-streams.txt"
rm -f "$OUT/streams-open"
sse_client "$GATEWAY/sse/v1/messages" "$STREAMS" "$STREAMS" 20 500 100 "$BENCH_TOKEN" "$OUT/streams-open" \
	>"$OUT/sse-slow.txt" 2>&1 &
CLIENT_PID=$!
STARTED_PIDS+=("$CLIENT_PID")
: >"$OUT/memory-during-streams.txt"
live=
while kill -0 "$CLIENT_PID" 2>/dev/null; do
	gateway_memory >>"$OUT/memory-during-streams.txt"
	if [ -z "$live" ] && [ -e "$OUT/streams-open" ]; then
		ss -Htn state established "sport = :$BENCH_GATEWAY_PORT" | wc -l >"$OUT/streams-open-connections.txt"
		live=$(gateway_live_heap)
		echo "$live" >"$OUT/live-heap-streams-open.txt"
		log "  all $STREAMS streams open: $(cat "$OUT/streams-open-connections.txt") client connections, live heap ${live} KB"
	fi
	sleep 1
done
wait "$CLIENT_PID" || true
sed -n 's/^RESULT //p' "$OUT/sse-slow.txt" >"$OUT/sse-slow.json"
log "  slow streams: $(cat "$OUT/sse-slow.json")"

echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/meta.properties"
cleanup
echo "run_seconds=$(($(date +%s) - STARTED))" >>"$OUT/meta.properties"

python3 "$ROOT/bench/report.py" "$OUT" "$ROOT/bench/RESULTS.md"
