#!/usr/bin/env bash
# Writes packaging/symbol-order.txt: every function the daemon runs in its life (start, samples,
# access-log tailing, publishing over HTTPS, SIGTERM), which build.rs hands to the linker so that
# they sit together in optimized binaries (build.rs says why: idle resident memory).
#
# How: builds the package profile ([profile.dist] keeps the symbol table; scripts/package.sh strips
# the packaged copy), runs `run` under callgrind against a real nginx and ministack on loopback,
# reached over HTTPS as CloudWatch is in production (nginx terminates TLS with a throwaway
# certificate, trusted through SSL_CERT_FILE) with the access log tailed while traffic flows; over
# plain HTTP as a local endpoint is, without the access log; and through a CloudWatch outage and
# its recovery. Then lists the symbol of each function callgrind saw execute in any of the runs.
#
# Re-run after dependency or toolchain updates: symbol names change with them, and names the build
# no longer has are ignored, so a stale list costs memory, never correctness. scripts/bench-idle.sh
# shows the effect (idle peak RSS of the package build).
# Needs: valgrind, openssl, and what scripts/setup.sh installs. Usage: scripts/symbol-order.sh
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
seconds=${SYMBOL_ORDER_SECONDS:-40}
profile_binary="$target_dir/dist/nginx-backlog-exporter"
out="$bench_root/packaging/symbol-order.txt"

# scripts/package.sh replaces the binary with a stripped copy; cargo links it again from deps/.
if [[ -f "$profile_binary" && -z "$(nm "$profile_binary" 2>/dev/null | head -n1)" ]]; then rm -f "$profile_binary"; fi
(cd "$bench_root" && cargo build --locked --quiet --profile dist --bin nginx-backlog-exporter)

nginx_port=$(free_port); ministack_port=$(free_port); tls_port=$(free_port)
# A server certificate (not a CA: webpki refuses a CA as the end entity), valid for 127.0.0.1.
cat >"$work/openssl.cnf" <<CNF
[req]
distinguished_name = dn
x509_extensions = leaf
prompt = no
[dn]
CN = 127.0.0.1
[leaf]
basicConstraints = critical,CA:FALSE
subjectAltName = IP:127.0.0.1
extendedKeyUsage = serverAuth
CNF
openssl req -x509 -config "$work/openssl.cnf" -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -keyout "$work/tls.key" -out "$work/tls.pem" 2>/dev/null
format='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time'
start_ministack "$ministack_port"
start_nginx "$nginx_port" "log_format timed '$format';
    server { listen 127.0.0.1:$tls_port ssl; ssl_certificate $work/tls.pem; ssl_certificate_key $work/tls.key;
             location / { proxy_pass http://127.0.0.1:$ministack_port; } }" \
    "location = /fast { access_log $work/logs/access.log timed; return 200 \"fast\\n\"; }"
cat >"$work/config.toml" <<CONF
[nginx]
status_url = "http://127.0.0.1:$nginx_port/nginx_status"
access_log = "$work/logs/access.log"
log_format = '$format'
[cloudwatch]
namespace = "Bench/Order"
instance_id = "i-0order0000000000"
region = "us-east-1"
period = "10s"
sample_interval = "1s"
[daemon]
state_directory = "$work/state"
CONF
: >"$work/logs/access.log"

export SSL_CERT_FILE="$work/tls.pem" AWS_EC2_METADATA_DISABLED=true
# The same without the access log (stub_status and the accept queue only: other config paths).
grep -v '^access_log\|^log_format' "$work/config.toml" >"$work/config-no-log.toml"
# profile NAME ENDPOINT CONFIG [MINISTACK_PORT]: the daemon's life under callgrind with CONFIG,
# publishing to ENDPOINT, into $work/NAME.callgrind; fails unless the ministack on MINISTACK_PORT
# (default: the first) got a metric under the namespace Bench/NAME.
profile() {
    local name=$1 endpoint=$2 config=$3 port=${4:-$ministack_port}
    sed "s|Bench/Order|Bench/$name|; s|$work/state|$work/state-$name|" "$config" >"$work/$name.toml"
    AWS_ENDPOINT_URL="$endpoint" valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/$name.callgrind" \
        "$profile_binary" --config "$work/$name.toml" run 2>"$work/$name.log" &
    local daemon=$!; bench_pids+=("$daemon")
    python3 "$support" scrape "http://127.0.0.1:$nginx_port/fast" "$seconds" &
    bench_pids+=($!)
    sleep "$seconds"
    kill -TERM "$daemon"
    wait "$daemon" || { echo "the daemon failed under callgrind:" >&2; cat "$work/$name.log" >&2; exit 1; }
    local published
    published=$("$venv_python" - "$port" "$name" <<'PY'
import sys, boto3
cloudwatch = boto3.client("cloudwatch", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
print(len(cloudwatch.list_metrics(Namespace="Bench/" + sys.argv[2])["Metrics"]))
PY
)
    if [[ "$published" -eq 0 ]]; then
        echo "the daemon published nothing to $endpoint; its log:" >&2; cat "$work/$name.log" >&2; exit 1
    fi
}
# HTTPS as in production; plain HTTP as to a local endpoint (ministack in the tests and benches).
profile OrderHTTPS "https://127.0.0.1:$tls_port" "$work/config.toml"
profile OrderHTTP "http://127.0.0.1:$ministack_port" "$work/config-no-log.toml"
# An outage: nothing answers for the first 15 s (datapoints go to the spool), then CloudWatch
# comes back and the backlog is sent. A path the idle daemon takes whenever CloudWatch fails.
late_port=$(free_port)
(sleep 15; BIND_HOST=127.0.0.1 GATEWAY_PORT=$late_port SERVICES=cloudwatch LOG_LEVEL=WARNING exec "$ministack_bin") \
    >"$work/late-ministack.log" 2>&1 &
bench_pids+=($!)
profile OrderOutage "http://127.0.0.1:$late_port" "$work/config.toml" "$late_port"

python3 - "$profile_binary" "$out" "$work"/*.callgrind <<'PY'
import re, subprocess, sys
binary, out, *callgrinds = sys.argv[1:]
ran = set()
for line in (line for callgrind in callgrinds for line in open(callgrind)):
    # fn=(id) name defines an id; later fn=(id) reuse it; cfn= lines are callees (counted when they run).
    if line.startswith("cmd:"):
        names = {}  # each file numbers its names afresh
    m = re.match(r"^fn=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
    if m:
        if m.group(2):
            names[m.group(1)] = m.group(2)
        ran.add(names[m.group(1)])
    else:
        m = re.match(r"^c?fn=\((\d+)\) (.*)$", line.rstrip("\n"))
        if m:
            names[m.group(1)] = m.group(2)
address = {}
for line in subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[1] in "tTwW":
        address.setdefault(parts[2], int(parts[0], 16))
hot = sorted((address[name], name) for name in ran if name in address)
if len(hot) < 1000:  # no symbols, or callgrind saw little: keep the list there is
    sys.exit(f"symbol-order: only {len(hot)} of {len(ran)} functions that ran have a symbol in {binary}; nothing written")
with open(out, "w") as f:
    f.write("# Written by scripts/symbol-order.sh: the functions the daemon ran, in their order in the binary\n")
    f.write("# they came from. build.rs passes this file to the linker (--symbol-ordering-file).\n")
    f.writelines(name + "\n" for _, name in hot)
print(f"symbol-order: {len(hot)} functions of {len(ran)} seen ran; written to {out}", file=sys.stderr)
PY
