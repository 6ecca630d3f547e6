#!/usr/bin/env bash
# Chaos soak (issue 15): scripts/soak.sh [--minutes N] [--seed S]
#
# Runs tests/soak.rs's `soak_long` (debug build, as `cargo test` builds it): the daemon with
# the access log on against real nginx under steady wrk load, publishing through the fault
# proxy to ministack, while CloudWatch outages, throttling and resets, kill -9 of the
# exporter, nginx reload/restart/binary upgrade, logrotate (rename and copytruncate) and a
# full state directory (a small tmpfs: needs root) are injected at random times from a seed
# it prints. It ends with one line of figures ("soak seed=...") and exits non-zero on any
# loss or duplicate beyond the documented crash windows. N minutes of faults (default 30),
# plus about 30 s of setup and draining. `cargo test` runs a 120 s variant (`soak_short`).
# Needs what scripts/test.sh installs (nginx-light, logrotate, ministack in .venv) and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=30
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) minutes="${2:?--minutes takes a number}"; shift 2 ;;
        --seed) export SOAK_SEED="${2:?--seed takes a number}"; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "soak.sh: unknown argument $1 (usage: scripts/soak.sh [--minutes N] [--seed S])" >&2; exit 2 ;;
    esac
done
if ! [[ "$minutes" =~ ^[0-9]+$ ]] || [ "$minutes" -lt 1 ]; then
    echo "soak.sh: --minutes takes whole minutes, at least 1 (got $minutes)" >&2
    exit 2
fi
command -v wrk >/dev/null || { echo "soak.sh: wrk is missing: apt-get install -y wrk" >&2; exit 2; }
export SOAK_SECONDS=$((minutes * 60))
exec cargo test --locked --test soak -- --ignored --exact soak_long --nocapture
