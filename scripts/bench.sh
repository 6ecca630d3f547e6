#!/usr/bin/env bash
# Builds the release binary and prints ONE table of performance figures, each next to a
# baseline measured in the same run on the same machine (medians and ratios, never a single
# absolute time): log throughput vs wc -l, idle footprint vs prometheus-nginx-exporter,
# tailing under wrk load vs tail -F, time to signal vs the period's end, `once` wall time vs
# its window, binary size (and, with BENCH_COLD_BUILD=1, the package profile's cold build).
# Everything runs on loopback; Debian packages only (scripts/bench.sh --install installs them).
# Takes about 5 minutes without the cold build, 12-13 with it. Prints the table as Markdown for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# Where cargo builds (CARGO_TARGET_DIR or build.target-dir), pinned for the bench-*.sh it runs.
CARGO_TARGET_DIR="$(scripts/cargo-target-dir.sh)"
export CARGO_TARGET_DIR

if [[ "${1:-}" == --install ]]; then
    apt-get update -qq
    apt-get install -y -qq nginx-light linux-perf valgrind hyperfine prometheus-nginx-exporter wrk
fi
for tool in /usr/sbin/nginx hyperfine valgrind prometheus-nginx-exporter wrk; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (scripts/bench.sh --install)" >&2; exit 2; }
done
[[ -x .venv/bin/ministack ]] || { echo "bench: .venv/bin/ministack is missing (scripts/test.sh installs it)" >&2; exit 2; }

# Two builds, so the daemon binary is built without the dev-dependency features the example
# needs (tokio's test-util): what is measured is what ships.
cargo build --release --quiet --bin nginx-backlog-exporter
cargo build --release --quiet --example tail-bench
export BENCH_BINARY="$CARGO_TARGET_DIR/release/nginx-backlog-exporter"

rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
# size first: with BENCH_COLD_BUILD=1 it builds the package binary that idle then measures too.
for part in size replay simulate closed-loop idle tail signal; do
    echo "bench: $part ..." >&2
    BENCH_ROWS=1 "scripts/bench-$part.sh" | grep '^ROW' >>"$rows" || echo "bench: $part failed" >&2
    if [[ "$part" == replay ]]; then
        echo "bench: replay on real-shaped lines ..." >&2
        BENCH_LOG_SHAPE=real BENCH_ROWS=1 scripts/bench-replay.sh | grep '^ROW' >>"$rows" || echo "bench: replay (real-shaped) failed" >&2
        echo "bench: replay on real-shaped lines over a day (sparse) ..." >&2
        BENCH_LOG_SHAPE=sparse BENCH_ROWS=1 scripts/bench-replay.sh | grep '^ROW' >>"$rows" || echo "bench: replay (sparse) failed" >&2
    fi
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "| figure | nginx-backlog-exporter | baseline (same run) | comparison | target | |"
echo "|---|---|---|---|---|---|"
cut -f2- "$rows" | sed 's/\t/ | /g; s/^/| /; s/$/ |/'
echo
echo "Machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), load average $load_start at start, $load_end at end; $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')."
