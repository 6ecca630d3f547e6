#!/usr/bin/env bash
# End to end on this machine, loopback only: a real nginx proxying to a deliberately slow
# upstream, the ministack CloudWatch-API server, an IMDSv2 emulation, and the exporter
# daemon. Load ramps up and down; the PendingRequests series is then read back from the
# endpoint and printed, rising and falling with the load.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/demo-lib.sh

# The slow upstream: every request takes 2 s.
python3 scripts/demo_support.py upstream "$upstream_port" 2 &
pids+=($!)
start_aws
start_nginx
write_config 5s

python3 scripts/demo_support.py wait "http://127.0.0.1:$ministack_port/" "http://127.0.0.1:$nginx_port/nginx_status"

echo "== check"
"$exporter" --config "$work/config.toml" check
echo
# The burst of 40 lasts two minutes: the shipped policy's scale-out alarm needs 3 periods of
# 10 s at 20 or more, and an alarm that stays in ALARM runs its policy again once a minute,
# so the simulation below shows a first and a second scale-out.
echo "== exporter running; load ramps 0 -> 10 -> 40 -> 10 -> 0 concurrent clients (10 s, 10 s, 120 s, 10 s, 10 s)"
"$exporter" --config "$work/config.toml" run 2>"$work/exporter.log" &
exporter_pid=$!
pids+=($exporter_pid)
started=$(date +%s)
python3 scripts/demo_support.py load "http://127.0.0.1:$nginx_port/" 0:10 10:10 40:120 10:10 0:10
kill -TERM "$exporter_pid"
wait "$exporter_pid" && echo "exporter exited 0 after SIGTERM"
echo
echo "== PendingRequests read back from the CloudWatch-API endpoint (GetMetricStatistics, 5 s periods)"
.venv/bin/python scripts/demo_support.py readback "$AWS_ENDPOINT_URL" Demo/Proxy PendingRequests "$instance_id" "$started"
echo
echo "== simulate: what config/scaling-policy.toml (2 to 6 tasks, 10 s alarms at 20 and 5) would have done with that series"
"$exporter" --config "$work/config.toml" simulate --policy config/scaling-policy.toml --from-cloudwatch \
    --start "$(date -u -d "@$started" +%Y-%m-%dT%H:%M:%SZ)" --end "$(date -u -d '+10 seconds' +%Y-%m-%dT%H:%M:%SZ)" --period 5s \
    | tee "$work/simulate.txt"
activities=$(sed -n 's/^scaling activities: \([0-9]*\)$/\1/p' "$work/simulate.txt")
if [ "${activities:-0}" -eq 0 ]; then
    echo "demo: the shipped policy did not scale on this run (scaling activities: ${activities:-none}); the machine may have been too busy to hold the load" >&2
    exit 1
fi
echo
echo "demo: the shipped policy scaled out on the burst ($activities scaling activities above)"
