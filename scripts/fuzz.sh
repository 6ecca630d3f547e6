#!/usr/bin/env bash
# Fuzz the two parsers that take outside input (fuzz/fuzz_targets/*.rs), each for a bounded
# time (FUZZ_SECONDS, default 30), with libFuzzer and coverage feedback, on stable Rust.
#
# cargo-fuzz needs nightly for its -Z flags (the address sanitizer, -Zbuild-std). The
# coverage instrumentation libFuzzer needs is stable, though: -Cpasses=sancov-module and
# the -sanitizer-coverage-* LLVM options. So this script builds the cargo-fuzz layout in
# fuzz/ itself with those flags (debug profile with debug assertions and overflow checks;
# an explicit --target so build scripts are not instrumented) and runs each libFuzzer
# binary. Measured on stable 1.95: about 17,000 runs/s on stub_status, 1,100/s on config.
#   - FUZZ_WITH_CARGO_FUZZ=1 uses `cargo fuzz` instead (RUSTC_BOOTSTRAP=1 lets stable accept
#     its -Z flags; --sanitizer none, since the crate forbids unsafe code). Not measured
#     here: a second instrumented build of the AWS SDK did not fit the time;
#   - new inputs go to fuzz/target/corpus/<target> (seeded from fuzz/corpus/<target>, which
#     stays small and committed); crashes to fuzz/artifacts/<target>/, and the script fails.
# Usage: scripts/fuzz.sh [target...]   (default: stub_status config proc_net log_format line_matcher)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${FUZZ_SECONDS:-30}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(stub_status config proc_net log_format line_matcher)
# The fuzz build has different RUSTFLAGS from the main build: keep it apart so neither
# invalidates the other.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/../target}/fuzz"

if [ "${FUZZ_WITH_CARGO_FUZZ:-0}" = 1 ]; then
    for target in "${targets[@]}"; do
        mkdir -p "target/corpus/$target"
        cp -n "corpus/$target"/* "target/corpus/$target/" 2>/dev/null || true
        RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none "$target" "target/corpus/$target" "corpus/$target" \
            -- -max_total_time="$seconds"
    done
    exit 0
fi

export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros, which are not
# linked with libFuzzer's coverage callbacks.
host="$(rustc -vV | sed -n 's/^host: //p')"
cargo build --bins --target "$host"
for target in "${targets[@]}"; do
    mkdir -p "target/corpus/$target" "artifacts/$target"
    "$CARGO_TARGET_DIR/$host/debug/$target" "target/corpus/$target" "corpus/$target" \
        -max_total_time="$seconds" -artifact_prefix="artifacts/$target/" -print_final_stats=1
done
