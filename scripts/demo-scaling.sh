#!/usr/bin/env bash
# The whole scaling loop on this machine, loopback only: an open-loop load against a real
# nginx whose upstream is a pool of capacity x K slots (scripts/demo_scaling.py, resizable
# while it runs); the exporter daemon publishing PendingRequests to the local CloudWatch
# API; and, every 10 s period, `simulate --from-cloudwatch` with config/scaling-policy.toml
# on the series published so far, whose desired capacity is applied to the pool (a
# scale-out after a 5 s launch time, a scale-in at once). Prints the timeline and writes the
# SVG; exits non-zero unless capacity went out from 2 and came back.
#
#   scripts/demo-scaling.sh [--short] [--svg FILE]
#
# The shipped policy's cooldowns (60 s out, 120 s in) would take about nine minutes to come
# back from 6; the demo shortens them with simulate's --set (20 s out, 10 s in) to fit in
# three. An alarm that stays in ALARM re-runs its policy once a minute (not every period, as
# AWS does), so removing one task at a time from 6 would take four minutes: the demo's
# scale-in step removes 4 at once (clamped to the minimum of 2). --short (what the test
# runs) also shortens the burst and the scale-in alarm (3 of 3 periods instead of 6 of 6):
# out from 2 and back to 2 in about two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
short=false
svg=""
while [ $# -gt 0 ]; do
    case "$1" in
        --short) short=true ;;
        --svg) svg="$2"; shift ;;
        *) echo "usage: scripts/demo-scaling.sh [--short] [--svg FILE]" >&2; exit 2 ;;
    esac
    shift
done
. scripts/demo-lib.sh
# Not into the checkout: a temp file of its own, kept after the run (the rest of $work goes).
svg=${svg:-$(mktemp --suffix=.svg -t demo-scaling.XXXXXX)}

start_aws
start_nginx 4096
write_config 10s
python3 scripts/demo_support.py wait "http://127.0.0.1:$ministack_port/"

sets=(--set policy.web-scale-out.cooldown=20 --set policy.web-scale-in.cooldown=10
    --set policy.web-scale-in.step.0.adjustment=-4)
if $short; then
    phases="5:3,30:12,200:3"
    sets+=(--set alarm.web-pending-low.evaluation_periods=3)
    deadline=150
else
    phases="5:3,40:12,300:3"
    deadline=175
fi

"$exporter" --config "$work/config.toml" run 2>"$work/exporter.log" &
pids+=($!)
echo "== load: $phases (seconds:arrivals a second), 1 s a request, K = 4 slots a unit, launch time 5 s"
echo "== every period: simulate --from-cloudwatch --policy config/scaling-policy.toml ${sets[*]}"
python3 scripts/demo_scaling.py --exporter "$exporter" --config "$work/config.toml" \
    --policy config/scaling-policy.toml "${sets[@]}" \
    --nginx-port "$nginx_port" --pool-port "$upstream_port" \
    --units 2 --min 2 --k 4 --service 1 --launch 5 --phases "$phases" --deadline "$deadline" \
    --svg "$svg"
echo "== wrote $svg"
