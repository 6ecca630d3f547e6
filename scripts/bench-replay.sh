#!/usr/bin/env bash
# Time `replay` on a generated 1,000,000-line log against `wc -l` on the same file (median
# of 3 runs each, file already in the page cache) and print lines/s and the ratio.
# Usage: scripts/bench-replay.sh [LOG]   (default: generate target/bench/access-1m.log)
set -euo pipefail

cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
log="${1:-$target_dir/bench/access-1m.log}"
format='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time'

cargo build --release --quiet --bin nginx-backlog-exporter
binary="$target_dir/release/nginx-backlog-exporter"

if [[ ! -f "$log" ]]; then
    mkdir -p "$(dirname "$log")"
    python3 scripts/gen-log.py --lines 1000000 "$log"
fi
lines=$(wc -l < "$log")
cat "$log" > /dev/null  # warm the page cache so both sides read from memory

# Median wall-clock seconds of three runs of "$@".
median_seconds() {
    local runs=()
    for _ in 1 2 3; do
        local start end
        start=$(date +%s.%N)
        "$@" > /dev/null 2>&1
        end=$(date +%s.%N)
        runs+=("$(python3 -c "print($end - $start)")")
    done
    printf '%s\n' "${runs[@]}" | sort -g | sed -n 2p
}

replay_s=$(median_seconds "$binary" replay --log-format "$format" --period 10s "$log")
wc_s=$(median_seconds wc -l "$log")

python3 - "$lines" "$(stat -c %s "$log")" "$replay_s" "$wc_s" <<'PY'
import sys
lines, size, replay_s, wc_s = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print(f"log:    {lines} lines, {size / 1e6:.1f} MB")
print(f"replay: {replay_s:.3f} s median of 3 = {lines / replay_s / 1e6:.2f} M lines/s ({size / replay_s / 1e9:.2f} GB/s)")
print(f"wc -l:  {wc_s:.3f} s median of 3 = {lines / wc_s / 1e6:.2f} M lines/s")
print(f"ratio:  replay takes {replay_s / wc_s:.1f}x the time of wc -l")
PY
