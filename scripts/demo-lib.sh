# Shared by scripts/demo.sh and scripts/demo-scaling.sh (sourced, not run): build the
# exporter, a temp directory cleaned up on exit, free loopback ports, the IMDSv2 emulation
# and the ministack CloudWatch-API server, nginx proxying to an upstream port, and the
# exporter's config. Everything the demos write stays in $work.

# cargo, cc and curl first: they are not installed here, and a missing one is named with its fix.
scripts/prerequisites.sh "scripts/$(basename "$0")"
scripts/setup.sh
cargo build --quiet --bin nginx-backlog-exporter
# Where cargo put it: CARGO_TARGET_DIR or the config's build.target-dir count, not ./target.
target_dir=$(scripts/cargo-target-dir.sh)
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
instance_id=i-0demo000000000000

# start_aws: IMDSv2 emulation (the exporter learns its instance id and region from it, as on
# EC2) and the CloudWatch-API server; exports the AWS_* variables the exporter reads.
start_aws() {
    python3 scripts/demo_support.py imds "$imds_port" "$instance_id" us-east-1 &
    pids+=($!)
    BIND_HOST=127.0.0.1 GATEWAY_PORT=$ministack_port SERVICES=cloudwatch LOG_LEVEL=WARNING .venv/bin/ministack >"$work/ministack.log" 2>&1 &
    pids+=($!)
    export AWS_ENDPOINT_URL="http://127.0.0.1:$ministack_port"
    export AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$imds_port"
    export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
    unset AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE
}

# start_nginx CONNECTIONS: nginx on $nginx_port, stub_status at /nginx_status, everything else
# proxied to 127.0.0.1:$upstream_port.
start_nginx() {
    mkdir -p "$work/logs"
    cat >"$work/nginx.conf" <<CONF
daemon on;
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections ${1:-512}; }
http {
    access_log $work/logs/access.log;
    client_body_temp_path $work/body; proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi; uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
    upstream pool { server 127.0.0.1:$upstream_port; }
    server {
        listen 127.0.0.1:$nginx_port backlog=1024;
        location = /nginx_status { stub_status; }
        location / { proxy_pass http://pool; proxy_read_timeout 300s; }
    }
}
CONF
    /usr/sbin/nginx -p "$work" -c "$work/nginx.conf"
}

# write_config PERIOD: the exporter's config, publishing every PERIOD at 1 s resolution.
write_config() {
    cat >"$work/config.toml" <<CONF
[nginx]
status_url = "http://127.0.0.1:$nginx_port/nginx_status"
[daemon]
# The demo keeps its spool and checkpoints in its own temp directory, never /var/lib.
state_directory = "$work/state"
[cloudwatch]
namespace = "Demo/Proxy"
storage_resolution = 1
period = "$1"
sample_interval = "1s"
CONF
}
