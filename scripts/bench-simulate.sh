#!/usr/bin/env bash
# simulate: 30 days of 10 s datapoints (259,200) through four alarms and two step policies
# (scripts/bench-simulate-policy.toml), median wall time of several runs (hyperfine) for the
# summary and for the per-evaluation CSV, against `wc -l` of the same series from the page
# cache; then peak RSS at a tenth of the length and at the whole: a CSV in time order is
# validated in one pass and streamed in a second, so memory should not grow with it. The
# engine runs as shipped: sliding evaluation windows and the measured default delays.
# BASELINE_BINARY=PATH (an older build, e.g. main's) is timed in the same run on the same
# series: its figures and ours / its ratio are printed beside ours.
# Usage: scripts/bench-simulate.sh      BENCH_ROWS=1 prints ROW lines for scripts/bench.sh.
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
runs=${BENCH_SIMULATE_RUNS:-7}
if [[ -z "${BENCH_BINARY:-}" ]]; then
    (cd "$bench_root" && cargo build --release --quiet --bin nginx-backlog-exporter)
fi
series="$target_dir/bench/series-30d.csv"
if [[ ! -f "$series" ]]; then
    mkdir -p "$(dirname "$series")"
    python3 "$bench_root/scripts/gen-series.py" --points 259200 "$series"
fi
head -n 25921 "$series" >"$work/series-3d.csv"
policy="$bench_root/scripts/bench-simulate-policy.toml"
cat "$series" >/dev/null

sim=("$binary" simulate --policy "$policy")
commands=("${sim[*]@Q} --series $series" "${sim[*]@Q} --output csv --series $series" "wc -l $series")
if [[ -n "${BASELINE_BINARY:-}" ]]; then
    base=("$BASELINE_BINARY" simulate --policy "$policy")
    commands+=("${base[*]@Q} --series $series" "${base[*]@Q} --output csv --series $series")
fi
hyperfine --warmup 1 --runs "$runs" --style none -N --export-json "$work/sim.json" --output=null \
    "${commands[@]}" >/dev/null
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
rss_small=$(rss "${sim[@]}" --output csv --plot "$work/small.svg" --series "$work/series-3d.csv")
rss_large=$(rss "${sim[@]}" --output csv --plot "$work/large.svg" --series "$series")
rss_base=""
if [[ -n "${BASELINE_BINARY:-}" ]]; then
    rss_base=$(rss "${base[@]}" --output csv --plot "$work/base.svg" --series "$series")
fi
"${sim[@]}" --series "$series" >"$work/summary.txt" 2>/dev/null

python3 - "$work/sim.json" "$rss_small" "$rss_large" "$work/summary.txt" "${BENCH_ROWS:-}" "$rss_base" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
summary, csv, wc = (r["median"] for r in results[:3])
baseline = [r["median"] for r in results[3:]]
rss_small, rss_large = int(sys.argv[2]) / 1024, int(sys.argv[3]) / 1024
activities = next((line.split(":")[1].strip() for line in open(sys.argv[4]) if line.startswith("scaling activities:")), "?")
rows = sys.argv[5] == "1"
def row(*cells):
    print("ROW\t" + "\t".join(cells)) if rows else print(" | ".join(cells))
verdict = "met" if csv < 1.0 else "MISSED"
row("simulate, 259,200 datapoints, 4 alarms, 2 policies: summary", f"{summary:.3f} s", f"`wc -l` {wc * 1000:.1f} ms", f"{summary / wc:.0f}x", "< 1 s", "met" if summary < 1.0 else "MISSED")
row("simulate, same, one CSV row per evaluation (+ rows)", f"{csv:.3f} s", "", f"{csv / wc:.0f}x", "< 1 s", verdict)
growth = (rss_large - rss_small) * 1024 * 1024 / (259200 - 25920)
row("simulate peak RSS, 25,920 vs 259,200 datapoints (CSV rows + plot)", f"{rss_small:.1f} MB vs {rss_large:.1f} MB", "", f"{growth:+.0f} bytes per datapoint", "flat in the series length", "met" if rss_large < rss_small * 1.1 + 0.5 else "MISSED")
if baseline:
    base_summary, base_csv = baseline
    rss_base = int(sys.argv[6]) / 1024
    row("simulate, same, summary: this build vs the baseline build", f"{summary:.3f} s", f"{base_summary:.3f} s", f"{summary / base_summary:.2f}x", "< 1 s", "met" if summary < 1.0 else "MISSED")
    row("simulate, same, CSV rows: this build vs the baseline build", f"{csv:.3f} s", f"{base_csv:.3f} s", f"{csv / base_csv:.2f}x", "< 1 s", verdict)
    row("simulate peak RSS, 259,200 datapoints: this build vs the baseline build", f"{rss_large:.1f} MB", f"{rss_base:.1f} MB", f"{rss_large / rss_base:.2f}x", "flat", "")
if not rows:
    print(f"summary lines with an activity: {activities}")
PY
