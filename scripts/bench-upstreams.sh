#!/usr/bin/env bash
# The per-sample cost of the per-upstream signal (issue 25): N established loopback
# connections (default 10,000) over G upstream groups (default 20), and per sample the
# ESTABLISHED sock_diag dump with tcp_info decoded and counted per group, against two
# baselines measured in the same run, interleaved: the same dump without tcp_info, and
# reading /proc/net/tcp + tcp6. Medians of S samples (default 50).
# Usage: scripts/bench-upstreams.sh [CONNECTIONS] [GROUPS] [SAMPLES]   (prints ROW lines)
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_TARGET_DIR="$(scripts/cargo-target-dir.sh)"
export CARGO_TARGET_DIR
connections=${1:-10000}
# One end of every connection in each of two processes (the example and its accepting child).
need=$((connections + 256)); hard=$(ulimit -Hn)
[[ "$hard" == unlimited || "$hard" -ge "$need" ]] || { echo "bench-upstreams: ulimit -Hn $hard < $need" >&2; exit 2; }
ulimit -n "$need"
# BENCH_PROFILE=dev for a quick look without a release build (the decoding is slower there).
profile=${BENCH_PROFILE:-release}
cargo build --profile "$profile" --quiet --example upstreams-bench
dir=$([[ "$profile" == dev ]] && echo debug || echo "$profile")
"$CARGO_TARGET_DIR/$dir/examples/upstreams-bench" "$connections" "${2:-20}" "${3:-50}"
