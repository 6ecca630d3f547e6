#!/usr/bin/env bash
# Tailing under load: nginx serves wrk (one thread, a 1 ms pause per request per connection,
# so a steady rate; Debian's wrk has no -R) with the access log on, while
# `examples/tail-bench` follows the log with the daemon's tailer + matcher + signals (the
# daemon's own access-log wiring is not merged yet) and coreutils `tail -F` follows it too,
# as the baseline. A second tail-bench drains on a 250 ms timer instead of waking on every
# inotify event (nginx writes each line with its own write(2)), to show what coalescing the
# wake-ups saves. CPU share and RSS are read from /proc over the wrk window.
# Usage: scripts/bench-tail.sh   (BENCH_TAIL_SECONDS, default 20; prints ROW lines)
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

"$tail_bench" "$log" "$work/state" $((seconds + 5)) 0 "$format" >"$work/tail-bench.out" 2>"$work/tail-bench.err" &
ours=$!; bench_pids+=("$ours")
"$tail_bench" "$log" "$work/state-batched" $((seconds + 5)) 250 "$format" >"$work/tail-batched.out" 2>"$work/tail-batched.err" &
batched=$!; bench_pids+=("$batched")
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
watched=$(python3 "$support" watch $((seconds - 2)) "$ours" "$baseline" "$batched")
lines_after=$(wc -l <"$log")
read -r _ our_cpu our_hwm our_first our_last _ _ <<<"$(sed -n 1p <<<"$watched")"
read -r _ base_cpu base_hwm _ _ _ _ <<<"$(sed -n 2p <<<"$watched")"
read -r _ batched_cpu _ _ _ _ _ <<<"$(sed -n 3p <<<"$watched")"
wait "$wrk_pid" || true
wait "$ours" || { echo "tail-bench failed:" >&2; cat "$work/tail-bench.err" >&2; exit 1; }
wait "$batched" || { echo "tail-bench (batched) failed:" >&2; cat "$work/tail-batched.err" >&2; exit 1; }
seen=$(cat "$work/tail-bench.out")
rate=$(python3 -c "print(round(($lines_after - $lines_before) / ($seconds - 2)))")

per20k=$(python3 -c "print(f'{$our_cpu * 20000 / max($rate, 1):.2f}')")
batched20k=$(python3 -c "print(f'{$batched_cpu * 20000 / max($rate, 1):.2f}')")
row "tailing at ${rate} lines/s (wrk -t1 -c$connections, 1 ms pace)" "$our_cpu % CPU ($per20k % per 20k lines/s)" \
    "$base_cpu % tail -F" "$(python3 -c "b=$base_cpu; print(f'{$our_cpu / b:.1f}x' if b else 'n/a')")" \
    "< 3 % at 20k lines/s" "$(python3 -c "print('met' if $per20k < 3 else 'MISSED')")"
row "tailing, drained every 250 ms instead (diagnosis)" "$batched_cpu % CPU ($batched20k % per 20k lines/s)" \
    "$base_cpu % tail -F" "$(python3 -c "b=$base_cpu; print(f'{$batched_cpu / b:.1f}x' if b else 'n/a')")" \
    "< 3 % at 20k lines/s" "$(python3 -c "print('met' if $batched20k < 3 else 'MISSED')")"
# The same follower on a bulk append of the generated log: what a line costs once wake-ups
# are not one per write (the notify thread alone wakes on every IN_MODIFY).
bulk_source="$target_dir/bench/access-1m.log"
if [[ -f "$bulk_source" ]]; then
    head -n 200000 "$bulk_source" >"$work/bulk-source.log"
    read -r bulk_cpu bulk_lines < <(python3 "$support" bulk_tail "$tail_bench" "$work/bulk.log" "$work/state-bulk" "$work/bulk-source.log" "$format")
    row "tailer + matcher + signals, 200k lines appended at once" \
        "$(python3 -c "print(f'{$bulk_cpu / $bulk_lines * 1e6:.2f} us/line = {$bulk_cpu / $bulk_lines * 20000 * 100:.2f} % per 20k lines/s')")" "" "" \
        "< 3 % at 20k lines/s" "$(python3 -c "print('met' if $bulk_cpu / $bulk_lines * 20000 * 100 < 3 else 'MISSED')")"
fi
row "tailing RSS (VmHWM; start -> end of load)" "$(python3 -c "print(f'{$our_hwm/1024:.1f} MB; {$our_first/1024:.1f} -> {$our_last/1024:.1f} MB')")" \
    "$(python3 -c "print(f'{$base_hwm/1024:.1f} MB tail -F')")" "" "flat" \
    "$(python3 -c "print('met' if $our_last <= $our_first + 512 else 'MISSED')")"
echo "tail-bench: $seen; batched: $(cat "$work/tail-batched.out"); wrk: $(grep -E 'Requests/sec' "$work/wrk.out" | tr -s ' ')" >&2
