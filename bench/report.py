#!/usr/bin/env python3
"""Turns the raw results of bench/run.sh (bench/out) into the target table and bench/RESULTS.md."""

import glob
import json
import os
import sys

out, results_path = sys.argv[1], sys.argv[2]


def load(name):
    with open(os.path.join(out, name)) as f:
        text = f.read().strip()
    return json.loads(text) if text else None


def props():
    meta = {}
    with open(os.path.join(out, 'meta.properties')) as f:
        for line in f:
            if '=' in line:
                key, value = line.rstrip('\n').split('=', 1)
                meta[key] = value
    return meta


def runs(prefix):
    found = [load(os.path.basename(p)) for p in sorted(glob.glob(os.path.join(out, 'wrk-%s-*.json' % prefix)))]
    if not found:
        raise SystemExit('no wrk runs for ' + prefix)
    return found


def combined(prefix):
    """Requests/s over all rounds; percentiles averaged over the rounds (each round is equally long)."""
    rs = runs(prefix)
    requests = sum(r['requests'] for r in rs)
    seconds = sum(r['duration_us'] for r in rs) / 1e6
    errors = sum(r['errors_connect'] + r['errors_read'] + r['errors_write'] + r['errors_status'] + r['errors_timeout']
                 for r in rs)
    avg = lambda k: sum(r[k] for r in rs) / len(rs)
    return {'rps': requests / seconds, 'requests': requests, 'errors': errors, 'p50_ms': avg('p50_us') / 1000,
            'p90_ms': avg('p90_us') / 1000, 'p99_ms': avg('p99_us') / 1000, 'max_ms': max(r['max_us'] for r in rs) / 1000,
            'rounds': len(rs)}


def cpu_us_per_request(prefix):
    """CPU time of the proxy process (user + system, all threads) per request over all rounds, in µs."""
    ticks, requests = 0.0, 0
    for path in sorted(glob.glob(os.path.join(out, 'cpu-%s-*.txt' % prefix))):
        used, per_second = open(path).read().split()
        ticks += int(used) / int(per_second)
        requests += load('wrk-%s.json' % os.path.basename(path)[4:-4])['requests']
    return ticks * 1e6 / requests if requests else float('nan')


meta = props()
load_plain, load_failover = combined('load-plain'), combined('load-failover')
lat_direct, lat_plain, lat_failover = combined('latency-direct'), combined('latency-plain'), combined('latency-failover')
load_proxy, lat_proxy = combined('load-nginxproxy'), combined('latency-nginxproxy')
cpu = {name: cpu_us_per_request('load-' + name) for name in ('plain', 'failover', 'nginxproxy')}
sse_direct, sse_gateway, sse_slow = load('sse-direct.json'), load('sse-gateway.json'), load('sse-slow.json')
sse_plain = load('sse-plain.json')
live_kb = int(open(os.path.join(out, 'live-heap-streams-open.txt')).read().strip() or 0) \
    if os.path.exists(os.path.join(out, 'live-heap-streams-open.txt')) else None
mem = [tuple(map(int, line.split())) for line in open(os.path.join(out, 'memory-during-streams.txt')) if line.strip()]
peak_heap_kb = max(h for h, _ in mem) if mem else None
peak_rss_kb = max(r for _, r in mem) if mem else None
open_conns = open(os.path.join(out, 'streams-open-connections.txt')).read().strip() \
    if os.path.exists(os.path.join(out, 'streams-open-connections.txt')) else '?'

jmh = {}
for b in load('jmh.json'):
    name = b['benchmark'].rsplit('.', 1)[1]
    jmh[name] = {'ns': b['primaryMetric']['score'], 'err': b['primaryMetric']['scoreError'],
                 'alloc': b['secondaryMetrics'].get('gc.alloc.rate.norm', {}).get('score', float('nan'))}
walkers = [n for n in jmh if n.startswith('walker')]
worst_ns = max(jmh[n]['ns'] for n in jmh)
alloc_growth = jmh['walkerAllCoolingDown']['alloc'] - jmh['walkerAllAvailable']['alloc']
read_alloc = jmh['stateRead']['alloc']

throughput_ratio = load_failover['rps'] / load_plain['rps']
added_ms = lat_failover['p50_ms'] - lat_direct['p50_ms']
p99_ratio = load_failover['p99_ms'] / load_plain['p99_ms']
first_event_ms = sse_gateway['first_event_us']['p99'] / 1000
streams_ok = sse_slow['completed'] == sse_slow['streams'] and sse_slow['dropped'] == 0
heap_limit_kb = 256 * 1024

targets = [
    ('throughput, KeyFailover route / plain route (%d conn.)' % int(meta['connections']),
     '%.3f (%.0f / %.0f req/s)' % (throughput_ratio, load_failover['rps'], load_plain['rps']), '>= 0.95',
     throughput_ratio >= 0.95, 'throughput'),
    ('median latency added by the gateway (KeyFailover route vs direct, 1 conn.)',
     '%.3f ms (p50 %.3f vs %.3f ms)' % (added_ms, lat_failover['p50_ms'], lat_direct['p50_ms']), '<= 0.4 ms',
     added_ms <= 0.4, 'added'),
    ('p99 latency, KeyFailover route / plain route (%d conn.)' % int(meta['connections']),
     '%.3f (%.2f / %.2f ms)' % (p99_ratio, load_failover['p99_ms'], load_plain['p99_ms']), '<= 1.10',
     p99_ratio <= 1.10, 'p99'),
    ('first SSE event relayed after the upstream sent it (p99 of %d streams)' % sse_gateway['first_event_us']['n'],
     '%.2f ms (p50 %.2f ms)' % (first_event_ms, sse_gateway['first_event_us']['p50'] / 1000), '<= 5 ms',
     first_event_ms <= 5, 'sse'),
    ('%d concurrent slow streams through one instance' % sse_slow['streams'],
     '%d completed, %d dropped; heap peak %.0f MB, live %.0f MB (-Xmx%s)' % (
         sse_slow['completed'], sse_slow['dropped'], (peak_heap_kb or 0) / 1024, (live_kb or 0) / 1024, meta['heap']),
     'heap <= 256 MB, none dropped', streams_ok and peak_heap_kb is not None and peak_heap_kb <= heap_limit_kb,
     'streams'),
    ('pool hot path, walker + state read (JMH, worst of %d)' % len(jmh),
     '%.1f ns/op; alloc %.0f B/op per walker whatever the keys checked (+%.1f), state read %.1f B/op' % (
         worst_ns, jmh['walkerAllAvailable']['alloc'], alloc_growth, read_alloc),
     '<= 1 us/op, no alloc per key check', worst_ns <= 1000 and alloc_growth < 1 and read_alloc < 1, 'jmh'),
]

# Why a target can be missed on this setup, and what would close it; shown for missed targets only.
WHY = {
    'throughput': 'The KeyFailover route does more per request than the plain route: it joins the request body '
                  'into one buffer (to replay it on failover), resolves the caller (SHA-256 of the token), builds '
                  'the per-attempt request and relays the response itself. On 2 cores shared by wrk, nginx and the '
                  'gateway, every extra microsecond of CPU is throughput. What would close it: profile with '
                  'BENCH_JFR=1 and remove per-request work on the filter path.',
    'added': 'A Spring Cloud Gateway route costs two extra loopback hops and the WebFlux filter chain; on this '
             'machine the plain route alone shows how much of it is the gateway itself (see the raw table). '
             'Other workloads on the same 2 cores (load average above) add scheduling delay to every hop.',
    'p99': 'The p99 at saturation is dominated by GC pauses and scheduling on 2 shared cores; compare the two '
           'rounds in the raw table to see the run-to-run spread.',
    'sse': 'The median is well inside the budget; the tail is not the filter. Events are flushed one by one '
           '(ResponseRelay.writeEventStream), and the same stream through the plain route (no KeyFailover, '
           'SCG\'s own NettyWriteResponseFilter) has the same tail (see the SSE table). Three JVMs (upstream, '
           'gateway, client) with their GC and JIT threads share 2 cores, and each hop waits for an event loop '
           'to wake; direct-to-upstream alone shows a p99 of several ms. What would close it: gateway, '
           'upstream and client on their own cores (taskset) or machines, which this setup cannot give; no '
           'buffering is left in the relay path to remove.',
    'streams': 'See the client errors in bench/out/sse-slow.txt.',
    'jmh': 'See bench/out/jmh.txt.',
}

rows = [(t[0], t[1], t[2], 'yes' if t[3] else '**no**') for t in targets]


def table(header, body):
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join('---' for _ in header) + '|']
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in body]
    return '\n'.join(lines)


def fmt_run(name, r):
    return (name, '%.0f' % r['rps'], '%.3f' % r['p50_ms'], '%.3f' % r['p90_ms'], '%.3f' % r['p99_ms'],
            '%.2f' % r['max_ms'], r['errors'])


raw = table(('run', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors'), [
    fmt_run('plain route, %s conn.' % meta['connections'], load_plain),
    fmt_run('KeyFailover route, %s conn.' % meta['connections'], load_failover),
    fmt_run('direct to nginx, 1 conn.', lat_direct),
    fmt_run('plain route, 1 conn.', lat_plain),
    fmt_run('KeyFailover route, 1 conn.', lat_failover),
    fmt_run('nginx proxy_pass (reference), %s conn.' % meta['connections'], load_proxy),
    fmt_run('nginx proxy_pass (reference), 1 conn.', lat_proxy),
])
reference = table(('proxy', 'req/s (%s conn.)' % meta['connections'], 'p50 ms (1 conn.)', 'p99 ms (%s conn.)' % meta['connections'],
                   'CPU per request (µs)', 'CPU vs nginx'), [
    (name, '%.0f' % load['rps'], '%.3f' % lat['p50_ms'], '%.2f' % load['p99_ms'], '%.0f' % cpu[key],
     '%.1fx' % (cpu[key] / cpu['nginxproxy']))
    for name, key, load, lat in (('nginx `proxy_pass`, key header swapped (reference)', 'nginxproxy', load_proxy, lat_proxy),
                                 ('gateway, plain route (no KeyFailover)', 'plain', load_plain, lat_plain),
                                 ('gateway, KeyFailover route', 'failover', load_failover, lat_failover))
])
per_round = table(('wrk run', 'req/s', 'p50 ms', 'p99 ms', 'errors'), [
    (os.path.basename(p)[4:-5], '%.0f' % (r['requests'] / (r['duration_us'] / 1e6)), '%.3f' % (r['p50_us'] / 1000),
     '%.3f' % (r['p99_us'] / 1000),
     r['errors_connect'] + r['errors_read'] + r['errors_write'] + r['errors_status'] + r['errors_timeout'])
    for p in sorted(glob.glob(os.path.join(out, 'wrk-*.json'))) for r in [load(os.path.basename(p))]
])
sse_table = table(('SSE', 'streams', 'completed', 'first event p50 ms', 'p90 ms', 'p99 ms', 'max ms'), [
    (name, s['streams'], s['completed'], '%.2f' % (s['first_event_us']['p50'] / 1000),
     '%.2f' % (s['first_event_us']['p90'] / 1000), '%.2f' % (s['first_event_us']['p99'] / 1000),
     '%.2f' % (s['first_event_us']['max'] / 1000))
    for name, s in (('direct to the streaming upstream', sse_direct), ('through the plain route (reference)', sse_plain),
                    ('through the KeyFailover route', sse_gateway),
                    ('%d slow streams at once, via gateway' % sse_slow['streams'], sse_slow))
])
jmh_table = table(('JMH benchmark', 'ns/op', '± (99.9%)', 'B/op (gc.alloc.rate.norm)'), [
    (n, '%.1f' % jmh[n]['ns'], '%.1f' % jmh[n]['err'], '%.1f' % jmh[n]['alloc']) for n in sorted(jmh)
])

missed = [t for t in targets if not t[3]]
notes = '\n'.join('- **%s**: %s' % (t[0], WHY[t[4]]) for t in missed) if missed else '- Every target was met in this run.'
if throughput_ratio > 1.05:
    notes += ('\n- Observation (not a miss): the KeyFailover route out-runs the plain route. Both go to the same nginx '
              'through the same gateway; the plain route goes through Spring Cloud Gateway\'s own response path '
              '(NettyWriteResponseFilter, X-Forwarded headers, StripPrefix) and the failover route through '
              'ResponseRelay. Not profiled yet (BENCH_JFR=1 records a flight recording); the ratio target holds '
              'either way, but the plain route is the slower baseline here, not an idealised one.')

md = """# Benchmark results

Produced by `bench/run.sh` on {date} (commit {git}); every number below comes from that one run.
Absolute numbers on a shared 2-core machine are noisy; the targets are ratios or small absolute
budgets measured within the same run.

## Targets

{targets}

## Distance to the fastest possible proxy

A plain nginx reverse proxy that swaps the credential header for one key (keepalive to the same
canned upstream, one worker) is the floor for any proxy on this machine. CPU per request is the
proxy process's own user + system time over the throughput runs divided by the requests it served
(the upstream, wrk and other processes are not counted).

{reference}

## Notes on missed targets

{notes}

## Machine and settings

- machine: {cores} cores ({cpu}), {memory}, kernel {kernel}
- JDK: {jdk}; gateway `-Xms{heap} -Xmx{heap}`, default GC; nginx {nginx} (1 worker, canned JSON via `return 200`); {wrk}
- load average at start {load_start}, at end {load_end} (1/5/15 min; other sessions on this machine may share its 2 cores)
- reference proxy: a second nginx {nginx} (1 worker, `proxy_pass` with an upstream `keepalive 128`,
  `proxy_set_header x-api-key`), measured in the same rounds as the gateway's routes
- everything on loopback; the client sends a pool client token (`x-api-key`), so the KeyFailover route resolves
  the caller and pools the request; the plain route is the same route without `KeyFailover` (`StripPrefix=1`)
- throughput: wrk `-t2 -c{connections}`, {rounds} x {secs} s per route, routes alternating, after a {warmup} s
  warm-up per route; latency: wrk `-t1 -c1`, {rounds} x {secs} s per target, alternating. Percentiles are the
  mean of the rounds' wrk percentiles, req/s is total requests over total time
- first SSE event: 300 streams 10 at a time, 5 events 20 ms apart, after 200 warm-up streams; latency = time the
  client parsed the event minus the `sent_us` wall-clock stamp the upstream wrote into it just before sending
- slow streams: {streams} streams opened at once, 20 events 500 ms apart (10 s each); heap sampled with `jstat`
  every second (peak = young + old used), live heap = old generation after `jcmd GC.run`, once every stream had
  its first event; {open_conns} client connections to the gateway were established at that moment; peak RSS
  {rss:.0f} MB
- JMH: 1 fork, 3 x 1 s warm-up, 5 x 1 s measurement, `-prof gc`, run before anything else was started
- total run time of `bench/run.sh`: {run_seconds} s

## Raw numbers

{raw}

{per_round}

{sse}

{jmh}
""".format(reference=reference, date=meta['date'], git=meta['git'], targets=table(('measure', 'measured', 'target', 'met?'), rows),
           notes=notes, cores=meta['cores'], cpu=meta['cpu'], memory=meta['memory'], kernel=meta['kernel'],
           jdk=meta['jdk'], heap=meta['heap'], nginx=meta['nginx'], wrk=meta['wrk'], load_start=meta['load_start'],
           load_end=meta.get('load_end', '?'), connections=meta['connections'], rounds=meta['rounds'],
           secs=meta['seconds_per_run'], warmup=meta['warmup'], streams=meta['streams'], open_conns=open_conns,
           rss=(peak_rss_kb or 0) / 1024, run_seconds=meta.get('run_seconds', '?'), raw=raw, per_round=per_round,
           sse=sse_table, jmh=jmh_table)

with open(results_path, 'w') as f:
    f.write(md)
print(table(('measure', 'measured', 'target', 'met?'), rows))
print('\nwritten to ' + results_path)
