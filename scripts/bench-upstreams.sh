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
# Both ends of every connection are open in the one process.
ulimit -n $((2 * connections + 256))
cargo build --release --quiet --example upstreams-bench
"$CARGO_TARGET_DIR/release/examples/upstreams-bench" "$connections" "${2:-20}" "${3:-50}"
