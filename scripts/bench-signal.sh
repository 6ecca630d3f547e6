#!/usr/bin/env bash
# Time to signal: with the daemon running (period 10s, sample_interval 1s), start N slow
# requests at a chosen instant after a period boundary and poll ministack (GetMetricStatistics)
# until a datapoint with Maximum >= N is there. Baseline: the wait for the period's end that
# any period-based publisher has. Then `once` wall time with an IMDSv2 emulation reachable
# (baseline: the window), and with IMDS unreachable and no instance_id (limit: 2 s).
# Usage: scripts/bench-signal.sh   (prints ROW lines)
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
held=${BENCH_SIGNAL_REQUESTS:-10}
window=${BENCH_ONCE_WINDOW:-3}

nginx_port=$(free_port); ministack_port=$(free_port); upstream_port=$(free_port); imds_port=$(free_port)
python3 "$support" upstream "$upstream_port" 12 2>"$work/upstream.log" &
bench_pids+=($!)
python3 "$bench_root/scripts/demo_support.py" imds "$imds_port" i-0bench00000000000 us-east-1 2>"$work/imds.log" &
bench_pids+=($!)
start_nginx "$nginx_port" "" \
    "location /slow { proxy_pass http://127.0.0.1:$upstream_port; proxy_read_timeout 60s; }"
start_ministack "$ministack_port"
export AWS_ENDPOINT_URL="http://127.0.0.1:$ministack_port"

exporter_config "$work/run.toml" "$nginx_port" 'instance_id = "i-0bench00000000000"
region = "us-east-1"'
AWS_EC2_METADATA_DISABLED=true "$binary" --config "$work/run.toml" run 2>"$work/exporter.log" &
bench_pids+=($!)
sleep 2
# Phases: just after a boundary (the worst case: a whole period to wait), mid-period, just before.
trials=$("$venv_python" "$support" time_to_signal "$AWS_ENDPOINT_URL" Bench/Proxy i-0bench00000000000 \
    "http://127.0.0.1:$nginx_port/nginx_status" "http://127.0.0.1:$nginx_port/slow" "$held" 10 0.3 5.0 9.7)
summary=$(python3 - "$trials" <<'PY'
import sys
rows = [line.split() for line in sys.argv[1].splitlines()]
lat = {float(p): (None if l == "none" else float(l)) for p, l in rows}
worst = max((l for l in lat.values() if l is not None), default=None)
missing = any(l is None for l in lat.values())
ours = "; ".join(f"+{p:g}s: {'never' if l is None else f'{l:.1f} s'}" for p, l in lat.items())
ideal = "; ".join(f"+{p:g}s: {10 - p:.1f} s" for p in lat)
ok = worst is not None and not missing and worst <= 11
print(f"worst {worst:.1f} s ({ours})" if worst is not None else f"({ours})")
print(f"period end {ideal}")
print("met" if ok else "MISSED")
PY
)
row "time to signal, $held requests started at boundary+phase" "$(sed -n 1p <<<"$summary")" \
    "$(sed -n 2p <<<"$summary")" "" "<= period + 1 s = 11 s" "$(sed -n 3p <<<"$summary")"

# once with IMDSv2 reachable: instance id and region come from the emulation.
exporter_config "$work/once.toml" "$nginx_port"
hyperfine --runs 3 --style none -N --export-json "$work/once.json" \
    "env AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$imds_port $binary --config $work/once.toml once --window ${window}s" \
    >/dev/null 2>&1
once_s=$(python3 -c "import json; print(f\"{json.load(open('$work/once.json'))['results'][0]['median']:.2f}\")")
row "once --window ${window}s, IMDS reachable (median of 3)" "$once_s s" "$window s window" \
    "$(python3 -c "print(f'{$once_s - $window:+.2f} s')")" "<= window + 0.3 s" \
    "$(python3 -c "print('met' if $once_s <= $window + 0.3 else 'MISSED')")"

# once with IMDS unreachable and no instance_id: must fail fast and say why.
hyperfine --runs 3 --style none -N -i --export-json "$work/offline.json" \
    "env AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9 $binary --config $work/once.toml once --window ${window}s" \
    >/dev/null 2>&1
offline_s=$(python3 -c "import json; print(f\"{json.load(open('$work/offline.json'))['results'][0]['median']:.2f}\")")
set +e
message=$(AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9 "$binary" --config "$work/once.toml" once --window "${window}s" 2>&1 >/dev/null)
code=$?
set -e
row "once, IMDS unreachable, no instance_id (median of 3)" "$offline_s s, exit $code" "2 s limit" "" \
    "fails within 2 s, clear message" "$(python3 -c "print('met' if $offline_s <= 2 and $code == 1 else 'MISSED')")"
echo "once offline message: $message" >&2
