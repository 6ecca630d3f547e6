#!/usr/bin/env bash
# Log throughput: `replay` on the generated 1,000,000-line log (combined + $request_time
# $upstream_response_time, fixed seed) against `wc -l` on the same file, both from the page
# cache, median of several runs (hyperfine); replay with its default threads (one worker per
# core, see `nproc`) and with `--threads 1`. Then instruction counts (callgrind, repeatable on
# a noisy machine) per line on the first 200,000 lines: callgrind runs threads one at a time,
# so the default's count is the work of all threads together, not the time. Last, the heap
# allocations of a whole replay (default threads) at two log sizes (valgrind's DHAT): equal
# counts mean none per line.
# Usage: scripts/bench-replay.sh [LOG]   (default: generate $CARGO_TARGET_DIR/bench/access-1m.log)
#        BENCH_ROWS=1 prints ROW lines for scripts/bench.sh instead of prose.
#        BENCH_LOG_SHAPE=real generates real-shaped lines instead (scripts/gen-log.py --shape real:
#        browser user agents, referers, about 210 bytes a line; access-1m-real.log), with the
#        targets of issue 16 (<= 4x wc -l with the default threads, >= 6 M lines/s on one).
#        BENCH_LOG_SHAPE=sparse: the same real-shaped lines spread over a day (gen-log.py --span
#        86400, about 11.6 requests a second, access-1m-sparse.log): a quiet proxy's day, where
#        the time changes every few lines and every period has few requests; issue 22's targets
#        (the same as issue 16's).
#        BENCH_REPLAY_PERIOD=1s replays with that --period (default 10s).
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
shape=${BENCH_LOG_SHAPE:-short}
case "$shape" in
    real) default_log="$target_dir/bench/access-1m-real.log"; gen_args=(--shape real) ;;
    sparse) default_log="$target_dir/bench/access-1m-sparse.log"; gen_args=(--shape real --span 86400) ;;
    short) default_log="$target_dir/bench/access-1m.log"; gen_args=(--shape short) ;;
    *) echo "bench-replay: BENCH_LOG_SHAPE must be short, real or sparse, not $shape" >&2; exit 2 ;;
esac
log="${1:-$default_log}"
runs=${BENCH_REPLAY_RUNS:-7}
period=${BENCH_REPLAY_PERIOD:-10s}
format='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time'

if [[ -z "${BENCH_BINARY:-}" ]]; then
    (cd "$bench_root" && cargo build --release --quiet --bin nginx-backlog-exporter)
fi
if [[ ! -f "$log" ]]; then
    mkdir -p "$(dirname "$log")"
    python3 "$bench_root/scripts/gen-log.py" "${gen_args[@]}" --lines 1000000 "$log"
fi
lines=$(wc -l <"$log")
size=$(stat -c %s "$log")
cat "$log" >/dev/null # warm the page cache so both sides read from memory

threads=$(nproc)
replay=("$binary" replay --log-format "$format" --period "$period")
replay1=("${replay[@]}" --threads 1)
hyperfine --warmup 1 --runs "$runs" --style none -N --export-json "$work/replay.json" \
    --output=null "${replay[*]@Q} $log" "${replay1[*]@Q} $log" "wc -l $log" >/dev/null

head -n 200000 "$log" >"$work/200k.log"
head -n 20000 "$log" >"$work/20k.log"
instructions() { # instructions of "$@", from callgrind's summary
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$@" >/dev/null 2>"$work/cg.err"
    sed -n 's/^summary: //p' "$work/cg.out"
}
replay_ir=$(instructions "${replay[@]}" "$work/200k.log")
replay1_ir=$(instructions "${replay1[@]}" "$work/200k.log")
wc_ir=$(instructions wc -l "$work/200k.log")
allocations() { # heap blocks allocated over the run, from DHAT
    valgrind --tool=dhat --dhat-out-file=/dev/null "$@" 2>&1 >/dev/null | sed -n 's/.*Total:.* in \([0-9,]*\) blocks.*/\1/p' | tr -d ,
}
allocs_20k=$(allocations "${replay[@]}" "$work/20k.log")
allocs_200k=$(allocations "${replay[@]}" "$work/200k.log")

python3 - "$work/replay.json" "$lines" "$size" "$replay_ir" "$wc_ir" "$allocs_20k" "$allocs_200k" "${BENCH_ROWS:-}" \
    "$replay1_ir" "$threads" "$shape" "$period" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
lines, size = int(sys.argv[2]), int(sys.argv[3])
replay_ir, wc_ir = int(sys.argv[4]) / 200_000, int(sys.argv[5]) / 200_000
allocs_20k, allocs_200k = int(sys.argv[6]), int(sys.argv[7])
rows = sys.argv[8] == "1"
replay1_ir, threads = int(sys.argv[9]) / 200_000, int(sys.argv[10])
shape, period = sys.argv[11], sys.argv[12]
replay_s, replay1_s, wc_s = (result["median"] for result in results)
rate, rate1 = lines / replay_s, lines / replay1_s
ratio, ratio1 = replay_s / wc_s, replay1_s / wc_s
runs = len(results[0]["times"])
per_line = (allocs_200k - allocs_20k) / 180_000
def row(*cells):
    print("ROW\t" + "\t".join(cells))
if rows and shape in ("real", "sparse"):
    # Issue 16's rows (the real-shaped log) and issue 22's (the same lines over a day): one set of targets.
    what = "real-shaped lines" if shape == "real" else "real-shaped lines over 24 h (sparse)"
    row(f"log throughput, {what} ({size / lines:.0f} bytes each): replay --period {period}, {lines:,} lines, median of {runs}, {threads} worker threads",
        f"{rate / 1e6:.2f} M lines/s ({replay_s:.3f} s)", f"{lines / wc_s / 1e6:.1f} M lines/s wc -l ({wc_s:.3f} s)",
        f"{ratio:.1f}x the time of wc -l", "<= 4x wc -l", "met" if ratio <= 4 else "MISSED")
    row(f"log throughput, {what}: replay --threads 1 (same run)", f"{rate1 / 1e6:.2f} M lines/s ({replay1_s:.3f} s)",
        f"{lines / wc_s / 1e6:.1f} M lines/s wc -l", f"{ratio1:.1f}x the time of wc -l", ">= 6 M lines/s",
        "met" if rate1 >= 6e6 else "MISSED")
    if shape == "sparse":
        row(f"{what}: instructions per line (callgrind, 200k lines), all threads / --threads 1", f"{replay_ir:,.0f} / {replay1_ir:,.0f}",
            f"{wc_ir:,.0f} wc -l", f"{replay_ir / wc_ir:.0f}x / {replay1_ir / wc_ir:.0f}x", "(repeatable figure behind the ratio)", "")
elif rows:
    row(f"log throughput: replay, {lines:,} lines ({size / 1e6:.0f} MB), median of {runs}, {threads} worker threads",
        f"{rate / 1e6:.2f} M lines/s ({replay_s:.3f} s)", f"{lines / wc_s / 1e6:.1f} M lines/s wc -l ({wc_s:.3f} s)",
        f"{ratio:.1f}x the time of wc -l", ">= 5 M lines/s, <= 5x wc -l",
        "met" if rate >= 5e6 and ratio <= 5 else "MISSED")
    row("log throughput: replay --threads 1 (same run)", f"{rate1 / 1e6:.2f} M lines/s ({replay1_s:.3f} s)",
        f"{lines / wc_s / 1e6:.1f} M lines/s wc -l", f"{ratio1:.1f}x the time of wc -l", "(single-thread figure)", "")
    row("instructions per line (callgrind, 200k lines), all threads / --threads 1", f"{replay_ir:,.0f} / {replay1_ir:,.0f}",
        f"{wc_ir:,.0f} wc -l", f"{replay_ir / wc_ir:.0f}x / {replay1_ir / wc_ir:.0f}x", "(repeatable figure behind the ratio)", "")
    row("heap allocations per line (DHAT, 20k vs 200k lines)", f"{per_line:.4f} ({allocs_20k} vs {allocs_200k} blocks per run)",
        "0", "", "0 (allocation-free hot path)", "met" if allocs_200k - allocs_20k <= 200 else "MISSED")
else:
    print(f"log:    {lines} lines, {size / 1e6:.1f} MB, shape {shape}, --period {period}")
    print(f"replay: {replay_s:.3f} s median of {runs} = {rate / 1e6:.2f} M lines/s ({size / replay_s / 1e9:.2f} GB/s), {threads} worker threads")
    print(f"replay --threads 1: {replay1_s:.3f} s median of {runs} = {rate1 / 1e6:.2f} M lines/s")
    print(f"wc -l:  {wc_s:.3f} s median of {runs} = {lines / wc_s / 1e6:.2f} M lines/s")
    print(f"ratio:  replay takes {ratio:.1f}x the time of wc -l ({ratio1:.1f}x with --threads 1)")
    print(f"instructions per line: replay {replay_ir:,.0f} (all threads together), --threads 1 {replay1_ir:,.0f}, wc -l {wc_ir:,.0f} (callgrind, first 200k lines)")
    print(f"heap blocks per run: {allocs_20k} for 20k lines, {allocs_200k} for 200k lines ({per_line:.4f} per line)")
PY
