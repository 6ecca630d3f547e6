#!/usr/bin/env bash
# Idle footprint: the daemon (`run`, sample_interval 1s, publishing to ministack) and Debian's
# prometheus-nginx-exporter (scraped once a second, as Prometheus would) watch the same nginx
# over the same window. After a 12 s warm-up (past the first publish), CPU share is utime+stime over the window
# (/proc/PID/stat) and peak RSS is VmHWM (/proc/PID/status) at its end.
# Usage: scripts/bench-idle.sh   (BENCH_IDLE_SECONDS, default 60; prints ROW lines)
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
seconds=${BENCH_IDLE_SECONDS:-60}

nginx_port=$(free_port); ministack_port=$(free_port); prom_port=$(free_port)
start_nginx "$nginx_port"
start_ministack "$ministack_port"
# Each exporter has a state directory of its own: two cannot share a spool (it is locked).
exporter_config "$work/config.toml" "$nginx_port" "instance_id = \"i-0bench00000000000\"
region = \"us-east-1\"
[daemon]
state_directory = \"$work/state\""

export AWS_ENDPOINT_URL="http://127.0.0.1:$ministack_port" AWS_EC2_METADATA_DISABLED=true
"$binary" --config "$work/config.toml" run 2>"$work/exporter.log" &
ours=$!; bench_pids+=("$ours")
# Diagnosis: the same binary without the kernel read (pending = "in_flight" skips the
# accept-queue dump over netlink, or /proc/self/net/tcp{,6} where netlink is refused).
exporter_config "$work/in-flight.toml" "$nginx_port" "instance_id = \"i-0bench00000000000\"
region = \"us-east-1\"
pending = \"in_flight\"
[daemon]
state_directory = \"$work/state-in-flight\""
"$binary" --config "$work/in-flight.toml" run 2>"$work/exporter-in-flight.log" &
ours_in_flight=$!; bench_pids+=("$ours_in_flight")
# Diagnosis: the package profile's binary (smaller text, so fewer file pages mapped), if
# scripts/bench-size.sh has built it (BENCH_COLD_BUILD=1) since the release binary was.
package_binary="$target_dir/bench-package-cold/${BENCH_PACKAGE_PROFILE:-dist}/nginx-backlog-exporter"
ours_package=""
if [[ -x "$package_binary" && "$package_binary" -nt "$binary" ]]; then # not one left from older code
    sed "s|$work/state\"|$work/state-package\"|" "$work/config.toml" > "$work/package.toml"
    "$package_binary" --config "$work/package.toml" run 2>"$work/exporter-package.log" &
    ours_package=$!; bench_pids+=("$ours_package")
fi
prometheus-nginx-exporter -nginx.scrape-uri "http://127.0.0.1:$nginx_port/nginx_status" \
    -web.listen-address "127.0.0.1:$prom_port" >"$work/prometheus-nginx-exporter.log" 2>&1 &
theirs=$!; bench_pids+=("$theirs")
python3 "$support" wait "http://127.0.0.1:$prom_port/metrics"
python3 "$support" scrape "http://127.0.0.1:$prom_port/metrics" $((seconds + 8)) &
bench_pids+=($!)

sleep 12
declare -A cpu hwm rss_first rss_last nthreads anon
while read -r pid share peak first last count private; do
    cpu[$pid]=$share; hwm[$pid]=$peak; rss_first[$pid]=$first; rss_last[$pid]=$last; nthreads[$pid]=$count; anon[$pid]=$private
done < <(python3 "$support" watch "$seconds" "$ours" "$ours_in_flight" "$theirs" $ours_package)

for pid in "$ours" "$ours_in_flight" $ours_package; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "exporter $pid exited early:" >&2; cat "$work"/exporter*.log >&2; exit 1; fi
done

mb() { python3 -c "print(f'{$1 / 1024:.1f} MB')"; }
verdict() { python3 -c "print('met' if $1 else 'MISSED')"; }
# The packages ship the package-profile binary, so when it was measured its row carries the
# target; the release build (`cargo build --release`: not size-optimized, hot code not laid out
# together, see build.rs) is then context.
rss_target="<= baseline and <= 8 MB"
rss_verdict=$(verdict "${hwm[$ours]} <= ${hwm[$theirs]} and ${hwm[$ours]} <= 8192")
if [[ -n "$ours_package" ]]; then rss_target="(release profile; the packages ship the next row)"; rss_verdict=""; fi
row "idle peak RSS (VmHWM), ${seconds} s" "$(mb "${hwm[$ours]}"), anon $(mb "${anon[$ours]}"), ${nthreads[$ours]} thread(s)" \
    "$(mb "${hwm[$theirs]}"), anon $(mb "${anon[$theirs]}"), ${nthreads[$theirs]} threads: prometheus-nginx-exporter" \
    "$(python3 -c "print(f'{${hwm[$ours]} / ${hwm[$theirs]}:.2f}x')")" "$rss_target" "$rss_verdict"
if [[ -n "$ours_package" ]]; then
    row "idle peak RSS, package-profile binary" "$(mb "${hwm[$ours_package]}"), anon $(mb "${anon[$ours_package]}")" \
        "$(mb "${hwm[$theirs]}")" "$(python3 -c "print(f'{${hwm[$ours_package]} / ${hwm[$theirs]}:.2f}x')")" \
        "<= baseline and <= 8 MB" "$(verdict "${hwm[$ours_package]} <= ${hwm[$theirs]} and ${hwm[$ours_package]} <= 8192")"
fi
row "idle CPU share of one core, ${seconds} s" "${cpu[$ours]} %" "${cpu[$theirs]} % prometheus-nginx-exporter" \
    "$(python3 -c "b=${cpu[$theirs]}; print(f'{${cpu[$ours]} / b:.2f}x' if b else 'n/a')")" "< baseline" \
    "$(verdict "${cpu[$ours]} < ${cpu[$theirs]}")"
row "idle CPU, pending = in_flight (no accept-queue read)" "${cpu[$ours_in_flight]} %" "${cpu[$theirs]} %" \
    "$(python3 -c "b=${cpu[$theirs]}; print(f'{${cpu[$ours_in_flight]} / b:.2f}x' if b else 'n/a')")" "(diagnosis)" ""
row "idle RSS drift over the window" "$(mb "${rss_first[$ours]}") -> $(mb "${rss_last[$ours]}")" \
    "$(mb "${rss_first[$theirs]}") -> $(mb "${rss_last[$theirs]}")" "" "flat (+256 kB)" \
    "$(verdict "${rss_last[$ours]} <= ${rss_first[$ours]} + 256")"
