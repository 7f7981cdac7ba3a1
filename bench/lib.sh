# Shared by bench/run.sh and bench/soak.sh: build, start the upstreams and the gateway on
# loopback, drive wrk, and stop everything this script started (and nothing else) on exit.
# shellcheck shell=bash

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${BENCH_OUT:-$ROOT/bench/out}
JAR=$ROOT/target/keypool-gateway-0.1.0-SNAPSHOT.jar
export BENCH_GATEWAY_PORT=${BENCH_GATEWAY_PORT:-18000}
export BENCH_MANAGEMENT_PORT=${BENCH_MANAGEMENT_PORT:-18001}
export BENCH_NGINX_PORT=${BENCH_NGINX_PORT:-18080}
export BENCH_SSE_PORT=${BENCH_SSE_PORT:-18090}
export BENCH_PROXY_PORT=${BENCH_PROXY_PORT:-18082}
export BENCH_TOKEN=${BENCH_TOKEN:-bench-client-token-0001}
GATEWAY_HEAP=${BENCH_GATEWAY_HEAP:-256m}
GATEWAY=http://127.0.0.1:$BENCH_GATEWAY_PORT
DIRECT=http://127.0.0.1:$BENCH_NGINX_PORT
PROXY=http://127.0.0.1:$BENCH_PROXY_PORT
PROXY_PID=

STARTED_PIDS=()
GATEWAY_PID=

log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
	local pid
	for pid in "${STARTED_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${STARTED_PIDS[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$pid" 2>/dev/null || true
	done
	STARTED_PIDS=()
}

bench_init() {
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	rm -rf "$OUT"
	mkdir -p "$OUT"
	local port
	for port in "$BENCH_GATEWAY_PORT" "$BENCH_MANAGEMENT_PORT" "$BENCH_NGINX_PORT" "$BENCH_SSE_PORT" "$BENCH_PROXY_PORT"; do
		if ss -Htln "sport = :$port" | grep -q .; then
			echo "port $port is in use; set BENCH_*_PORT to free ports" >&2
			exit 1
		fi
	done
}

ensure_tools() {
	local missing=()
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
	command -v wrk >/dev/null || missing+=(wrk)
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing ${missing[*]} from Debian's packages"
		DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >"$OUT/apt.log" 2>&1 \
			|| { apt-get update >>"$OUT/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >>"$OUT/apt.log" 2>&1; }
	fi
	for tool in java javac jcmd jstat python3 ss; do
		command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
	done
}

# The gateway jar, the JMH benchmarks (profile jmh) and the test classpath to run them with.
build() {
	log "building the gateway jar and the JMH benchmarks"
	(cd "$ROOT" && ./mvnw -B -q -Pjmh -DskipTests package dependency:build-classpath \
		-Dmdep.outputFile="$OUT/jmh.classpath" -Dmdep.includeScope=test >"$OUT/build.log" 2>&1) \
		|| { tail -50 "$OUT/build.log" >&2; exit 1; }
	log "compiling the streaming upstream and client against the gateway's Reactor Netty"
	mkdir -p "$OUT/lib" "$OUT/classes"
	(cd "$OUT/lib" && unzip -q -o -j "$JAR" 'BOOT-INF/lib/reactor-*' 'BOOT-INF/lib/netty-*' 'BOOT-INF/lib/reactive-streams-*')
	javac -nowarn -cp "$OUT/lib/*" -d "$OUT/classes" "$ROOT"/bench/java/*.java
}

wait_http() {
	local url=$1 name=$2
	for _ in $(seq 300); do
		if curl -s -o /dev/null "$url"; then return 0; fi
		sleep 0.2
	done
	echo "$name did not come up ($url)" >&2
	exit 1
}

start_nginx() {
	mkdir -p "$OUT/nginx-body"
	sed -e "s#@OUT@#$OUT#g" -e "s#@PORT@#$BENCH_NGINX_PORT#g" "$ROOT/bench/conf/nginx.conf.template" >"$OUT/nginx.conf"
	nginx -c "$OUT/nginx.conf" -e "$OUT/nginx-error.log" >"$OUT/nginx.out" 2>&1 &
	STARTED_PIDS+=($!)
	wait_http "$DIRECT/v1/messages" nginx
}

# The reference proxy: a second nginx (its own worker, like the gateway has its own JVM).
start_nginx_proxy() {
	sed -e "s#@OUT@#$OUT#g" -e "s#@PORT@#$BENCH_PROXY_PORT#g" -e "s#@UPSTREAM_PORT@#$BENCH_NGINX_PORT#g" \
		"$ROOT/bench/conf/nginx-proxy.conf.template" >"$OUT/nginx-proxy.conf"
	nginx -c "$OUT/nginx-proxy.conf" -e "$OUT/nginx-proxy-error.log" >"$OUT/nginx-proxy.out" 2>&1 &
	PROXY_PID=$!
	STARTED_PIDS+=("$PROXY_PID")
	wait_http "$PROXY/v1/messages" "nginx reference proxy"
}

start_sse_upstream() {
	java -Xmx512m -cp "$OUT/classes:$OUT/lib/*" SseUpstream "$BENCH_SSE_PORT" >"$OUT/sse-upstream.log" 2>&1 &
	STARTED_PIDS+=($!)
	for _ in $(seq 100); do
		ss -Htln "sport = :$BENCH_SSE_PORT" | grep -q . && return 0
		sleep 0.2
	done
	echo "streaming upstream did not come up" >&2
	exit 1
}

# start_gateway [extra JVM options...]
start_gateway() {
	java -Xms"$GATEWAY_HEAP" -Xmx"$GATEWAY_HEAP" "$@" -jar "$JAR" \
		--spring.config.additional-location="file:$ROOT/bench/conf/gateway.yaml" >"$OUT/gateway.log" 2>&1 &
	GATEWAY_PID=$!
	STARTED_PIDS+=("$GATEWAY_PID")
	wait_http "http://127.0.0.1:$BENCH_MANAGEMENT_PORT/actuator/health" gateway
	local headers
	headers=$(curl -s -D - -o /dev/null -X POST -H "x-api-key: $BENCH_TOKEN" -H 'content-type: application/json' \
		-d '{}' "$GATEWAY/v1/messages")
	grep -qi '^x-keypool-key: primary' <<<"$headers" || { echo "failover route is not pooling: $headers" >&2; exit 1; }
	curl -sf -o /dev/null -X POST -d '{}' "$GATEWAY/plain/v1/messages" || { echo "plain route fails" >&2; exit 1; }
}

# CPU time (clock ticks, user + system) used so far by the given processes and their children
# processes (nginx's workers), all threads included.
cpu_ticks() {
	local pid total=0 ticks
	for pid in "$@" $(for p in "$@"; do pgrep -P "$p" || true; done); do
		ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
		total=$((total + ticks))
	done
	echo "$total"
}

# wrk_run <name> <url> <connections> <threads> <seconds> [pid...]: RESULT json in
# $OUT/wrk-<name>.json; with pids, the CPU they used during the run in $OUT/cpu-<name>.txt
# ("ticks ticks_per_second").
wrk_run() {
	local name=$1 url=$2 connections=$3 threads=$4 seconds=$5
	shift 5
	local before=0
	[ $# -gt 0 ] && before=$(cpu_ticks "$@")
	wrk -t"$threads" -c"$connections" -d"${seconds}s" --timeout 10s -s "$ROOT/bench/conf/post.lua" "$url" \
		>"$OUT/wrk-$name.txt" 2>&1
	sed -n 's/^RESULT //p' "$OUT/wrk-$name.txt" >"$OUT/wrk-$name.json"
	[ -s "$OUT/wrk-$name.json" ] || { cat "$OUT/wrk-$name.txt" >&2; exit 1; }
	if [ $# -gt 0 ]; then
		echo "$(($(cpu_ticks "$@") - before)) $(getconf CLK_TCK)" >"$OUT/cpu-$name.txt"
	fi
	log "  $name: $(cat "$OUT/wrk-$name.json")"
}

# Heap used (KB, young + old) and RSS (KB) of the gateway: "heap_kb rss_kb"
gateway_memory() {
	local heap rss
	heap=$(jstat -gc "$GATEWAY_PID" | awk 'NR==1{for(i=1;i<=NF;i++)h[$i]=i} NR==2{printf "%d", $h["S0U"]+$h["S1U"]+$h["EU"]+$h["OU"]}')
	rss=$(awk '/VmRSS/{print $2}' "/proc/$GATEWAY_PID/status")
	echo "$heap $rss"
}

# Heap used after a full GC (KB): the live set. Read as the old generation's occupancy right
# after it, since eden refills within milliseconds under load and would blur the number.
gateway_live_heap() {
	jcmd "$GATEWAY_PID" GC.run >/dev/null
	jstat -gc "$GATEWAY_PID" | awk 'NR==1{for(i=1;i<=NF;i++)h[$i]=i} NR==2{printf "%d\n", $h["OU"]}'
}
