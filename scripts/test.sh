#!/usr/bin/env bash
# Runs every test: installs what they need (scripts/setup.sh), checks formatting, then
# cargo test (unit, property and black-box tests against real nginx and ministack), then
# type-checks the guide's CDK snippets (scripts/check-cdk.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prerequisites.sh scripts/test.sh
scripts/setup.sh
cargo fmt --all -- --check
# Lints stay clean (issue 24): every target, warnings as errors.
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked "$@"
# The guide's CDK sketches type-check against aws-cdk-lib (npm; about 20 s).
scripts/check-cdk.sh
