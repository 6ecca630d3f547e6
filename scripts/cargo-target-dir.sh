#!/usr/bin/env bash
# Prints the directory cargo builds this crate into, as cargo itself resolves it:
# CARGO_TARGET_DIR, else CARGO_BUILD_TARGET_DIR or build.target-dir in a .cargo/config.toml,
# else ./target. Every script that runs a binary cargo built looks for it under this.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo metadata --format-version 1 --no-deps --offline |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
