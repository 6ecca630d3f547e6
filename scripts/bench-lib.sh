# Sourced by scripts/bench-*.sh: loopback services with their own prefixes, cleaned up on exit.
# Every started process is remembered by pid and only those are stopped.

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Where cargo builds: CARGO_TARGET_DIR or build.target-dir count, not only ./target.
target_dir="$("$bench_root/scripts/cargo-target-dir.sh")"
binary="${BENCH_BINARY:-$target_dir/release/nginx-backlog-exporter}"
venv_python="$bench_root/.venv/bin/python"
ministack_bin="${MINISTACK_BIN:-$bench_root/.venv/bin/ministack}"
support="$bench_root/scripts/bench_support.py"

work=$(mktemp -d)
bench_pids=()
bench_cleanup() {
    for pid in "${bench_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [[ -f "$work/nginx.pid" ]]; then kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; fi
    for pid in "${bench_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap bench_cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A table row for scripts/bench.sh: figure, ours, baseline, comparison, target, verdict.
row() { printf 'ROW\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@"; }

# start_nginx PORT [EXTRA_HTTP] [EXTRA_SERVER]: Debian's nginx daemonized under $work.
start_nginx() {
    local port=$1 extra_http=${2:-} extra_server=${3:-}
    mkdir -p "$work/logs"
    cat >"$work/nginx.conf" <<CONF
daemon on;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/body; proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi; uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
    $extra_http
    server {
        listen 127.0.0.1:$port;
        location = /nginx_status { stub_status; }
        $extra_server
    }
}
CONF
    /usr/sbin/nginx -p "$work" -c "$work/nginx.conf"
    python3 "$support" wait "http://127.0.0.1:$port/nginx_status"
}

# start_ministack PORT
start_ministack() {
    BIND_HOST=127.0.0.1 GATEWAY_PORT=$1 SERVICES=cloudwatch LOG_LEVEL=WARNING "$ministack_bin" >"$work/ministack.log" 2>&1 &
    bench_pids+=($!)
    python3 "$support" wait "http://127.0.0.1:$1/"
}

# exporter_config FILE NGINX_PORT [EXTRA_CLOUDWATCH_LINES]
exporter_config() {
    cat >"$1" <<CONF
[nginx]
status_url = "http://127.0.0.1:$2/nginx_status"
[cloudwatch]
namespace = "Bench/Proxy"
period = "10s"
sample_interval = "1s"
${3:-}
CONF
}

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
# An exporter whose config names no state directory keeps its spool and checkpoints here,
# never in /var/lib/nginx-backlog-exporter (as root that is the default without this).
export STATE_DIRECTORY="$work/state-default"
unset AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE
