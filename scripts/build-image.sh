#!/usr/bin/env bash
# Builds the sidecar container image (packaging/container/Containerfile) with podman, from
# Debian, reaching no registry: FROM scratch, the binary of IMAGE_PROFILE (default dist, the
# packages' profile; dev for a quick build), the shared libraries ldd lists for it (glibc's
# libc, libm, the loader, and libgcc_s), Debian's CA bundle, the shipped config as the
# default, and an empty state directory owned by the image's user (65532).
#
#   scripts/build-image.sh [--tag NAME] [--root DIR] [--archive FILE]
#
# --tag: the image name (default nginx-backlog-exporter:VERSION).
# --root: podman's storage root (default podman's own, /var/lib/containers as root); the
#   tests pass one inside their temp directory, with --runroot beside it.
# --archive: also write the image as an OCI archive (podman save) to FILE, to load elsewhere.
# Honours CARGO_TARGET_DIR. A static (musl) build is not used: the musl target is not
# installed here and its standard library comes from rustup's server, not a package registry.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
TAG=nginx-backlog-exporter:$VERSION
ROOT=
ARCHIVE=
while [ $# -gt 0 ]; do
    case "$1" in
        --tag) TAG=$2; shift 2 ;;
        --root) ROOT=$2; shift 2 ;;
        --archive) ARCHIVE=$2; shift 2 ;;
        *) echo "usage: $0 [--tag NAME] [--root DIR] [--archive FILE]" >&2; exit 2 ;;
    esac
done
say() { printf '==> %s\n' "$*" >&2; }
command -v podman >/dev/null || { echo "build-image: podman is missing (apt-get install podman)" >&2; exit 1; }

PROFILE=${IMAGE_PROFILE:-dist}
case "$PROFILE" in dev) PROFILE_DIR=debug ;; release) PROFILE_DIR=release ;; *) PROFILE_DIR=$PROFILE ;; esac
TARGET_DIR=$("$REPO/scripts/cargo-target-dir.sh")
say "building the binary (profile $PROFILE)"
cargo build --locked --quiet --profile "$PROFILE" --bin nginx-backlog-exporter
BINARY=$TARGET_DIR/$PROFILE_DIR/nginx-backlog-exporter

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
rootfs=$context/rootfs
mkdir -p "$rootfs/usr/bin" "$rootfs/etc/ssl/certs" "$rootfs/etc/nginx-backlog-exporter" "$rootfs/var/lib" "$context/state"
mkdir -m 1777 "$rootfs/tmp"
# Stripped into the context: the image needs no symbols (and the debug build's are 50 MB).
strip --strip-all -o "$rootfs/usr/bin/nginx-backlog-exporter" "$BINARY"

# Every library the dynamic loader would load, at the path ldd resolves it to, plus the loader.
libraries=$(ldd "$BINARY" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }')
[ -n "$libraries" ] || { echo "build-image: ldd found no libraries for $BINARY" >&2; exit 1; }
for library in $libraries; do
    mkdir -p "$rootfs$(dirname "$library")"
    cp -L "$library" "$rootfs$library"
done
say "libraries: $(echo $libraries)"

cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
cp config/nginx-backlog-exporter.toml "$rootfs/etc/nginx-backlog-exporter/config.toml"
printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$rootfs/etc/group"
cp packaging/container/Containerfile "$context/Containerfile"

storage=()
if [ -n "$ROOT" ]; then
    storage=(--root "$ROOT" --runroot "$ROOT.run" --storage-driver vfs)
fi
say "building $TAG"
# --network none: nothing in the build reaches the network (FROM scratch pulls nothing).
podman "${storage[@]}" build --quiet --network none --pull=never --tag "$TAG" \
    --label "org.opencontainers.image.version=$VERSION" --file "$context/Containerfile" "$context" >/dev/null
if [ -n "$ARCHIVE" ]; then
    podman "${storage[@]}" save --quiet --format oci-archive --output "$ARCHIVE" "$TAG"
    say "wrote $ARCHIVE"
fi
say "built $TAG ($(podman "${storage[@]}" image inspect --format '{{.Size}}' "$TAG") bytes)"
