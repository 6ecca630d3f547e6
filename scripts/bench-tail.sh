#!/usr/bin/env bash
# Tailing under load: nginx serves wrk (one thread, a 1 ms pause per request per connection,
# so a steady rate; Debian's wrk has no -R) with the access log on, while the daemon (`run
# --dry-run`, nginx.access_log set, everything else as configured by default) follows the log,
# and coreutils `tail -F` follows it too, as the baseline. A second daemon without
# access_log watches the same nginx, so what the access-log source adds is visible apart
# from the once-a-second stub_status and /proc/net/tcp reads. CPU share and RSS are read from
# /proc over the wrk window.
# Usage: scripts/bench-tail.sh   (BENCH_TAIL_SECONDS, default 20; BENCH_TAIL_CONNECTIONS, default 64;
# prints ROW lines)
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
seconds=${BENCH_TAIL_SECONDS:-20}
connections=${BENCH_TAIL_CONNECTIONS:-64}
tail_bench="$target_dir/release/examples/tail-bench"
format='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time'

port=$(free_port)
start_nginx "$port" "log_format timed '$format';" \
    "location = /fast { access_log $work/logs/access.log timed; return 200 \"fast\\n\"; }"
python3 "$support" wait "http://127.0.0.1:$port/fast"
log="$work/logs/access.log"

# daemon_config FILE STATE_DIR [ACCESS_LOG_LINES]
daemon_config() {
    cat >"$1" <<CONF
[nginx]
status_url = "http://127.0.0.1:$port/nginx_status"
${3:-}
[cloudwatch]
namespace = "Bench/Tail"
instance_id = "i-0bench00000000000"
region = "us-east-1"
period = "10s"
sample_interval = "1s"
[daemon]
state_directory = "$2"
CONF
}
metrics_port=$(free_port)
daemon_config "$work/tailing.toml" "$work/state" "access_log = \"$log\"
log_format = '$format'"
printf '[http]\nlisten = "127.0.0.1:%s"\n' "$metrics_port" >>"$work/tailing.toml"
lines_at_start=$(wc -l <"$log")
daemon_config "$work/reference.toml" "$work/state-reference"
"$binary" --config "$work/tailing.toml" run --dry-run >"$work/tailing.out" 2>"$work/tailing.err" &
ours=$!; bench_pids+=("$ours")
"$binary" --config "$work/reference.toml" run --dry-run >"$work/reference.out" 2>"$work/reference.err" &
reference=$!; bench_pids+=("$reference")
tail -n 0 -F "$log" >/dev/null 2>&1 &
baseline=$!; bench_pids+=("$baseline")
cat >"$work/pace.lua" <<'LUA'
-- A steady rate: each connection waits 1 ms before its next request.
function delay() return 1 end
LUA
sleep 2
wrk -t1 -c"$connections" -d"${seconds}s" -s "$work/pace.lua" "http://127.0.0.1:$port/fast" >"$work/wrk.out" 2>&1 &
wrk_pid=$!; bench_pids+=("$wrk_pid")
sleep 1
lines_before=$(wc -l <"$log")
watched=$(python3 "$support" watch $((seconds - 2)) "$ours" "$baseline" "$reference")
lines_after=$(wc -l <"$log")
read -r _ our_cpu our_hwm our_first our_last _ our_anon <<<"$(sed -n 1p <<<"$watched")"
read -r _ base_cpu base_hwm _ _ _ _ <<<"$(sed -n 2p <<<"$watched")"
read -r _ reference_cpu _ _ _ _ _ <<<"$(sed -n 3p <<<"$watched")"
wait "$wrk_pid" || true
for pid in "$ours" "$reference"; do
    kill -0 "$pid" 2>/dev/null || { echo "exporter $pid exited early:" >&2; cat "$work"/*.err >&2; exit 1; }
done
# Every line nginx wrote after the daemon started (start_at = end) must have been read once.
sleep 2
lines_written=$(($(wc -l <"$log") - lines_at_start))
lines_read=$(python3 -c "
import re, urllib.request
page = urllib.request.urlopen('http://127.0.0.1:$metrics_port/metrics', timeout=2).read().decode()
print(sum(int(float(v)) for v in re.findall(r'^nginx_backlog_log_lines_(?:parsed|rejected)_total(?:{[^}]*})? (\\S+)$', page, re.M)))")
rate=$(python3 -c "print(round(($lines_after - $lines_before) / ($seconds - 2)))")

per20k=$(python3 -c "print(f'{$our_cpu * 20000 / max($rate, 1):.2f}')")
added20k=$(python3 -c "print(f'{($our_cpu - $reference_cpu) * 20000 / max($rate, 1):.2f}')")
row "daemon tailing at ${rate} lines/s (wrk -t1 -c$connections, 1 ms pace)" "$our_cpu % CPU ($per20k % per 20k lines/s)" \
    "$base_cpu % tail -F" "$(python3 -c "b=$base_cpu; print(f'{$our_cpu / b:.2f}x' if b else 'n/a')")" \
    "< 3 % at 20k lines/s" "$(python3 -c "print('met' if $per20k < 3 else 'MISSED')")"
row "of which the access-log source (minus a daemon without it: $reference_cpu %)" \
    "$(python3 -c "print(f'{$our_cpu - $reference_cpu:.3f}')") % CPU ($added20k % per 20k lines/s)" "" "" "(diagnosis)" ""
row "lines the daemon read (parsed + rejected), 2 s after the load" "$lines_read" "$lines_written written by nginx" "" \
    "all of them" "$(python3 -c "print('met' if $lines_read == $lines_written else 'MISSED')")"
# The tailer + matcher + signals on a bulk append of the generated log: what a line costs
# without any wake-up per write.
bulk_source="$target_dir/bench/access-1m.log"
if [[ -f "$bulk_source" && -x "$tail_bench" ]]; then
    head -n 200000 "$bulk_source" >"$work/bulk-source.log"
    read -r bulk_cpu bulk_lines < <(python3 "$support" bulk_tail "$tail_bench" "$work/bulk.log" "$work/state-bulk" "$work/bulk-source.log" "$format")
    row "tailer + matcher + signals, 200k lines appended at once" \
        "$(python3 -c "print(f'{$bulk_cpu / $bulk_lines * 1e6:.2f} us/line = {$bulk_cpu / $bulk_lines * 20000 * 100:.2f} % per 20k lines/s')")" "" "" \
        "< 3 % at 20k lines/s" "$(python3 -c "print('met' if $bulk_cpu / $bulk_lines * 20000 * 100 < 3 else 'MISSED')")"
fi
row "daemon RSS while tailing (VmHWM; VmRSS start -> end of load)" \
    "$(python3 -c "print(f'{$our_hwm/1024:.1f} MB, anon {$our_anon/1024:.1f} MB; {$our_first/1024:.1f} -> {$our_last/1024:.1f} MB')")" \
    "$(python3 -c "print(f'{$base_hwm/1024:.1f} MB tail -F')")" "" "flat (+512 kB)" \
    "$(python3 -c "print('met' if $our_last <= $our_first + 512 else 'MISSED')")"
echo "wrk: $(grep -E 'Requests/sec' "$work/wrk.out" | tr -s ' '); daemon stderr: $(grep -c . "$work/tailing.err") lines" >&2
