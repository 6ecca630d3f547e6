#!/usr/bin/env bash
# Binary size and cold build time of the package profile (see [profile.dist]: size-optimized deps, thin LTO, one codegen
# unit, stripped). Cargo reserves the name `package`, so the profile is called `dist`
# (BENCH_PACKAGE_PROFILE): Cargo.toml's [profile.dist] when it exists, else those settings as
# --config overrides. The cold build runs in its own target directory, emptied first; it
# takes many minutes on a small machine, so it only runs with BENCH_COLD_BUILD=1 (otherwise
# the release binary's size is reported alone).
# Usage: scripts/bench-size.sh   (prints ROW lines)
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
baseline=/usr/bin/prometheus-nginx-exporter
mb() { python3 -c "print(f'{$1 / 1e6:.1f} MB')"; }

release_size=$(stat -c %s "$binary")
row "binary size, release profile" "$(mb "$release_size")" "$(mb "$(stat -c %s "$baseline")") prometheus-nginx-exporter" \
    "$(python3 -c "print(f'{$release_size / $(stat -c %s "$baseline"):.2f}x')")" "(context)" ""

if [[ "${BENCH_COLD_BUILD:-0}" != 1 ]]; then
    row "binary size and cold build, package profile" "skipped (BENCH_COLD_BUILD=1 to run)" "" "" "(context)" ""
    exit 0
fi
cold_dir="$target_dir/bench-package-cold"
rm -rf "$cold_dir"
profile=${BENCH_PACKAGE_PROFILE:-dist}
if grep -q "^\[profile\.$profile\]" "$bench_root/Cargo.toml"; then
    profile_args=(--profile "$profile")
    source_note="Cargo.toml [profile.$profile]"
else
    profile_args=(--profile "$profile" --config "profile.$profile.inherits=\"release\"" --config "profile.$profile.opt-level=3"
        --config "profile.$profile.lto=\"thin\"" --config "profile.$profile.codegen-units=1" --config "profile.$profile.strip=true")
    source_note="--config overrides"
fi
load_before=$(cut -d' ' -f1 /proc/loadavg)
started=$(date +%s.%N)
(cd "$bench_root" && CARGO_TARGET_DIR="$cold_dir" cargo build --locked --quiet "${profile_args[@]}" --bin nginx-backlog-exporter)
finished=$(date +%s.%N)
load_after=$(cut -d' ' -f1 /proc/loadavg)
# How much of packaging/symbol-order.txt this build has (build.rs): names missing from it are
# code that moved since the list was made, and each costs resident memory (BENCHMARKS.md).
order="$bench_root/packaging/symbol-order.txt"
read -r listed found span < <(python3 - "$order" "$cold_dir/$profile/nginx-backlog-exporter" <<'PY'
import subprocess, sys
listed = [l for l in open(sys.argv[1]).read().split("\n") if l and not l.startswith("#")]
symbols = {}
for line in subprocess.run(["nm", "-S", "--defined-only", sys.argv[2]], capture_output=True, text=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 4:
        symbols.setdefault(parts[3], (int(parts[0], 16), int(parts[1], 16)))
found = [symbols[name] for name in listed if name in symbols]
span = (max(a + s for a, s in found) - min(a for a, s in found)) / 1e6 if found else 0
print(len(listed), len(found), f"{span:.1f}")
PY
)
row "hot code laid out together (packaging/symbol-order.txt)" "$found of $listed listed functions found, in $span MB" "" "" \
    "all found (else re-run scripts/symbol-order.sh)" "$([[ "$found" -eq "$listed" ]] && echo met || echo STALE)"
# Packaged as scripts/package.sh does: stripped (the profile keeps symbols for symbol-order.sh).
strip --strip-all -o "$cold_dir/$profile/stripped" "$cold_dir/$profile/nginx-backlog-exporter" # as package.sh
mv "$cold_dir/$profile/stripped" "$cold_dir/$profile/nginx-backlog-exporter"
package_size=$(stat -c %s "$cold_dir/$profile/nginx-backlog-exporter")
row "binary size, package profile ($source_note, stripped)" "$(mb "$package_size")" "$(mb "$(stat -c %s "$baseline")") prometheus-nginx-exporter" \
    "$(python3 -c "print(f'{$package_size / $(stat -c %s "$baseline"):.2f}x')")" "(context)" ""
row "cold build, package profile, $(nproc) cores" "$(python3 -c "s=$finished-$started; print(f'{s/60:.1f} min')")" \
    "load average $load_before -> $load_after" "" "(context)" ""
