#!/usr/bin/env bash
# Runs every test: installs what they need (scripts/setup.sh), checks formatting, then
# cargo test (unit, property and black-box tests against real nginx and ministack).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo fmt --all -- --check
cargo test --locked "$@"
