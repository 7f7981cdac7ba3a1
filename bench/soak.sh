#!/usr/bin/env bash
# Soak: the bench/run.sh setup under steady load for 10 minutes (not in CI).
#
#   bench/soak.sh                    # SOAK_SECONDS=600 by default
#
# Drives the KeyFailover route with wrk (BENCH_CONNECTIONS, default 32) and, every
# SOAK_INTERVAL seconds (default 10), records the gateway's RSS and its live heap (heap used
# after a full GC, forced with jcmd GC.run) into bench/out/soak.csv. Fails when memory keeps
# growing: the live heap or RSS of the last third of the run is more than SOAK_TOLERANCE
# (default 10%) above that of the middle third, and the trend over the second half rises too.

source "$(dirname "$0")/lib.sh"

DURATION=${SOAK_SECONDS:-600}
INTERVAL=${SOAK_INTERVAL:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-32}

bench_init
ensure_tools
build
start_nginx
start_sse_upstream
start_gateway

log "warm-up 20 s, then ${DURATION} s of load on the KeyFailover route, sampling every ${INTERVAL} s"
wrk_run soak-warmup "$GATEWAY/v1/messages" "$CONNECTIONS" 2 20
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s "$ROOT/bench/conf/post.lua" "$GATEWAY/v1/messages" \
	>"$OUT/wrk-soak.txt" 2>&1 &
WRK_PID=$!
STARTED_PIDS+=("$WRK_PID")
echo "seconds,rss_kb,live_heap_kb,heap_used_kb" >"$OUT/soak.csv"
start=$(date +%s)
while kill -0 "$WRK_PID" 2>/dev/null; do
	sleep "$INTERVAL"
	kill -0 "$WRK_PID" 2>/dev/null || break
	read -r heap rss < <(gateway_memory)
	live=$(gateway_live_heap)
	echo "$(($(date +%s) - start)),$rss,$live,$heap" >>"$OUT/soak.csv"
	log "  $(tail -1 "$OUT/soak.csv")"
done
wait "$WRK_PID" || true
sed -n 's/^RESULT //p' "$OUT/wrk-soak.txt" >"$OUT/wrk-soak.json"
log "load: $(cat "$OUT/wrk-soak.json")"
cleanup

python3 - "$OUT/soak.csv" "${SOAK_TOLERANCE:-0.10}" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]))]
tolerance = float(sys.argv[2])
if len(rows) < 6:
    sys.exit('too few samples (%d) to judge growth' % len(rows))
def judge(column):
    values = [int(r[column]) for r in rows]
    third = len(values) // 3
    middle, last = values[third:2 * third], values[2 * third:]
    half = values[len(values) // 2:]
    n = len(half)
    mean_x, mean_y = (n - 1) / 2, sum(half) / n
    slope = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(half)) / sum((i - mean_x) ** 2 for i in range(n))
    grew = sum(last) / len(last) > (1 + tolerance) * sum(middle) / len(middle) and slope > 0
    print('%-13s first %7d KB, middle third avg %7.0f KB, last third avg %7.0f KB, trend %+.0f KB/sample: %s'
          % (column, values[0], sum(middle) / len(middle), sum(last) / len(last), slope, 'GROWING' if grew else 'flat'))
    return grew
growing = [c for c in ('live_heap_kb', 'rss_kb') if judge(c)]
sys.exit('memory keeps growing: ' + ', '.join(growing) if growing else 0)
PY
log "soak passed: memory did not keep growing (samples in $OUT/soak.csv)"
