#!/usr/bin/env bash
# End to end on this machine, loopback only: a real nginx proxying to a deliberately slow
# upstream, the ministack CloudWatch-API server, an IMDSv2 emulation, and the exporter
# daemon. Load ramps up and down; the PendingRequests series is then read back from the
# endpoint and printed, rising and falling with the load.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --quiet --bin nginx-backlog-exporter
# Where cargo put it: CARGO_TARGET_DIR or the config's build.target-dir count, not ./target.
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
exporter="$target_dir/debug/nginx-backlog-exporter"

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
nginx_port=$(free_port); upstream_port=$(free_port); ministack_port=$(free_port); imds_port=$(free_port)

# The slow upstream: every request takes 2 s.
python3 scripts/demo_support.py upstream "$upstream_port" 2 &
pids+=($!)
# IMDSv2 emulation: the exporter learns its instance id and region from it, as on EC2.
python3 scripts/demo_support.py imds "$imds_port" i-0demo000000000000 us-east-1 &
pids+=($!)
BIND_HOST=127.0.0.1 GATEWAY_PORT=$ministack_port SERVICES=cloudwatch LOG_LEVEL=WARNING .venv/bin/ministack >"$work/ministack.log" 2>&1 &
pids+=($!)

mkdir -p "$work/logs"
cat >"$work/nginx.conf" <<CONF
daemon on;
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 512; }
http {
    access_log $work/logs/access.log;
    client_body_temp_path $work/body; proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi; uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
    upstream slow { server 127.0.0.1:$upstream_port; }
    server {
        listen 127.0.0.1:$nginx_port;
        location = /nginx_status { stub_status; }
        location / { proxy_pass http://slow; }
    }
}
CONF
/usr/sbin/nginx -p "$work" -c "$work/nginx.conf"

cat >"$work/config.toml" <<CONF
[nginx]
status_url = "http://127.0.0.1:$nginx_port/nginx_status"
[daemon]
# The demo keeps its spool and checkpoints in its own temp directory, never /var/lib.
state_directory = "$work/state"
[cloudwatch]
namespace = "Demo/Proxy"
storage_resolution = 1
period = "5s"
sample_interval = "1s"
CONF

python3 scripts/demo_support.py wait "http://127.0.0.1:$ministack_port/" "http://127.0.0.1:$nginx_port/nginx_status"

export AWS_ENDPOINT_URL="http://127.0.0.1:$ministack_port"
export AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$imds_port"
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
unset AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE

echo "== check"
"$exporter" --config "$work/config.toml" check
echo
echo "== exporter running; load ramps 0 -> 10 -> 40 -> 10 -> 0 concurrent clients, 10 s each"
"$exporter" --config "$work/config.toml" run 2>"$work/exporter.log" &
exporter_pid=$!
pids+=($exporter_pid)
started=$(date +%s)
python3 scripts/demo_support.py load "http://127.0.0.1:$nginx_port/" 0:10 10:10 40:10 10:10 0:10
kill -TERM "$exporter_pid"
wait "$exporter_pid" && echo "exporter exited 0 after SIGTERM"
echo
echo "== PendingRequests read back from the CloudWatch-API endpoint (GetMetricStatistics, 5 s periods)"
.venv/bin/python scripts/demo_support.py readback "$AWS_ENDPOINT_URL" Demo/Proxy PendingRequests i-0demo000000000000 "$started"
echo
echo "== simulate: what config/scaling-policy.toml (2 to 6 tasks, 10 s alarms at 20 and 5) would have done with that series"
"$exporter" --config "$work/config.toml" simulate --policy config/scaling-policy.toml --from-cloudwatch \
    --start "$(date -u -d "@$started" +%Y-%m-%dT%H:%M:%SZ)" --end "$(date -u -d '+10 seconds' +%Y-%m-%dT%H:%M:%SZ)" --period 5s
