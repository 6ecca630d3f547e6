#!/usr/bin/env bash
# Builds the .deb (cargo-deb) and the .rpm (cargo-generate-rpm) into target/packages/.
#
#   scripts/package.sh [--revision N]
#
# --revision: the package revision (Debian "-N", RPM Release), default 1. A second build with
# a higher revision is an upgrade of the first (scripts/nspawn-test.sh uses that).
# Honours CARGO_TARGET_DIR. Installs cargo-deb / cargo-generate-rpm if they are missing.
# PACKAGE_PROFILE (default dist) picks the cargo profile of the binary: CI proves the
# packages with `dev`, which builds in a fraction of the time and ships the same files.
#
# Order: the man pages and completions come first, from the clap definitions in src/cli.rs
# (examples/gen-assets.rs, built in the dev profile so it shares `cargo test`'s artifacts),
# into target/generated/ where Cargo.toml's package metadata expects them; then the binary
# in the `dist` profile (thin LTO, hot code laid out together by build.rs, stripped here); then
# both packages from that one binary.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD
REVISION=1
while [ $# -gt 0 ]; do
    case "$1" in
        --revision) REVISION=$2; shift 2 ;;
        *) echo "usage: $0 [--revision N]" >&2; exit 2 ;;
    esac
done
case "$REVISION" in (*[!0-9]*|'') echo "package.sh: --revision must be a number" >&2; exit 2 ;; esac

"$REPO/scripts/prerequisites.sh" scripts/package.sh
TARGET_DIR=$("$REPO/scripts/cargo-target-dir.sh")   # CARGO_TARGET_DIR or build.target-dir
GENERATED=$REPO/target/generated   # fixed: Cargo.toml's asset paths name it
DIST=$REPO/target/packages
say() { printf '==> %s\n' "$*" >&2; }

for tool in cargo-deb:cargo-deb cargo-generate-rpm:cargo-generate-rpm; do
    crate=${tool%%:*}
    if ! command -v "${tool##*:}" >/dev/null; then
        say "installing $crate"
        cargo install --locked "$crate"
    fi
done

say "generating man pages and completions from src/cli.rs"
rm -rf "$GENERATED"
cargo run --locked --quiet --example gen-assets -- "$GENERATED"
# cargo-deb gzips man pages itself; cargo-generate-rpm does not.
mkdir -p "$GENERATED/man-gz"
for page in "$GENERATED"/man/*.1; do
    gzip -9 -n -c "$page" > "$GENERATED/man-gz/$(basename "$page").gz"
done

PROFILE=${PACKAGE_PROFILE:-dist}
case "$PROFILE" in dev) PROFILE_DIR=debug ;; release) PROFILE_DIR=release ;; *) PROFILE_DIR=$PROFILE ;; esac
say "building the binary (profile $PROFILE)"
cargo build --locked --profile "$PROFILE" --bin nginx-backlog-exporter
BINARY=$TARGET_DIR/$PROFILE_DIR/nginx-backlog-exporter
"$BINARY" --version >/dev/null
if [ "$PROFILE" != dev ]; then
    # [profile.dist] keeps the symbol table for scripts/symbol-order.sh; packages ship without it.
    # A new file renamed over the old: strip in place would also strip cargo's hard-linked copy
    # in deps/, which cargo hands back on the next build.
    strip --strip-all -o "$BINARY.stripped" "$BINARY"
    mv "$BINARY.stripped" "$BINARY"
fi

mkdir -p "$DIST"
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
DEB=$DIST/nginx-backlog-exporter_${VERSION}-${REVISION}_$(dpkg --print-architecture).deb
say "building $(basename "$DEB")"
cargo deb --no-build --locked --profile "$PROFILE" --deb-revision "$REVISION" --output "$DEB"

say "building the rpm (release $REVISION)"
cargo generate-rpm --profile "$PROFILE_DIR" --set-metadata "release = \"$REVISION\"" --output "$DIST/"

say "done:"
ls -l "$DIST" >&2
