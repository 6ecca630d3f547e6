#!/usr/bin/env bash
# The closed loop (`simulate --unit-concurrency`) over the generated 1,000,000-line log with
# the shipped policy: median wall time of several runs (hyperfine) pinned to one core with
# `--threads 1`, as lines a second, against `replay --threads 1` on the same core and `wc -l`;
# then a sweep of 20 thresholds, its CPU time over its wall time (2.0 = both cores busy),
# against the same sweep pinned to one core.
# Usage: scripts/bench-closed-loop.sh [LOG]   BENCH_ROWS=1 prints ROW lines for scripts/bench.sh.
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
log="${1:-$target_dir/bench/access-1m.log}"
runs=${BENCH_CLOSED_LOOP_RUNS:-7}
format='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time'
if [[ -z "${BENCH_BINARY:-}" ]]; then
    (cd "$bench_root" && cargo build --release --quiet --bin nginx-backlog-exporter)
fi
if [[ ! -f "$log" ]]; then
    mkdir -p "$(dirname "$log")"
    python3 "$bench_root/scripts/gen-log.py" --lines 1000000 "$log"
fi
lines=$(wc -l <"$log")
cat "$log" >/dev/null
policy="$bench_root/config/scaling-policy.toml"
loop=("$binary" simulate --policy "$policy" --log-format "$format" --log "$log" --threads 1
    --unit-concurrency 20 --launch-time 60s --slo 100ms)
replay1=("$binary" replay --log-format "$format" --period 10s --threads 1 "$log")
hyperfine --warmup 1 --runs "$runs" --style none -N --export-json "$work/loop.json" --output=null \
    "taskset -c 0 ${loop[*]@Q}" "taskset -c 0 ${replay1[*]@Q}" "wc -l $log" >/dev/null
sweep=("${loop[@]}" --sweep alarm.web-pending-high.threshold=10..200:10)
/usr/bin/time -f '%e %U %S' -o "$work/sweep.time" "${sweep[@]}" >"$work/sweep.txt" 2>"$work/sweep.err"
/usr/bin/time -f '%e %U %S' -o "$work/sweep1.time" taskset -c 0 "${sweep[@]}" >"$work/sweep1.txt" 2>/dev/null
cmp -s "$work/sweep.txt" "$work/sweep1.txt" || { echo "bench: the sweep's rows differ on one core" >&2; exit 1; }
"${loop[@]}" >"$work/loop.txt" 2>/dev/null

python3 - "$work/loop.json" "$work/sweep.time" "$work/sweep1.time" "$lines" "$(nproc)" "$work/sweep.txt" "${BENCH_ROWS:-}" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
loop, replay1, wc = (r["median"] for r in results)
wall, user, system = (float(x) for x in open(sys.argv[2]).read().split())
wall1 = float(open(sys.argv[3]).read().split()[0])
lines, cores = int(sys.argv[4]), int(sys.argv[5])
values = sum(1 for l in open(sys.argv[6]) if l.split() and l.split()[0].replace(".", "").isdigit())
rows = sys.argv[7] == "1"
def row(*cells):
    print("ROW\t" + "\t".join(cells)) if rows else print(" | ".join(cells))
rate = lines / loop
row(f"simulate closed loop, {lines:,} lines, one core (--threads 1)", f"{rate / 1e6:.2f} M lines/s ({loop:.3f} s)",
    f"replay --threads 1 {lines / replay1 / 1e6:.2f} M lines/s; `wc -l` {wc * 1000:.0f} ms",
    f"{loop / replay1:.2f}x replay's time", ">= 2 M lines/s", "met" if rate >= 2e6 else "MISSED")
busy = (user + system) / wall
row(f"simulate --sweep, {values} thresholds over the same log", f"{wall:.2f} s wall, CPU {busy:.2f} of {cores} cores",
    f"the same sweep on one core {wall1:.2f} s", f"{wall1 / wall:.2f}x faster on {cores} cores",
    "uses both cores", "met" if busy >= 0.8 * cores else "MISSED")
PY
