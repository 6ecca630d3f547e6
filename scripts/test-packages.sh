#!/usr/bin/env bash
# The packaging proof CI runs after the tests (needs root): builds the .deb and .rpm twice
# (revisions 1 and 2), inspects them and gates the units' security score
# (scripts/check-packages.sh), then installs, runs, upgrades and purges the .deb in a booted
# Debian 12 container (scripts/nspawn-test.sh); then builds the sidecar container image and
# tests its contents end to end under chroot (scripts/test-image.sh).
#
# PACKAGE_PROFILE defaults to dev here: the packages hold the same files, units and scripts
# as the dist build, and CI stays within its time budget (the dist profile's LTO build
# takes several minutes on 2 cores). scripts/package.sh alone builds dist.
set -euo pipefail
cd "$(dirname "$0")/.."
export PACKAGE_PROFILE=${PACKAGE_PROFILE:-dev}
rm -rf target/packages
scripts/package.sh --revision 1
scripts/package.sh --revision 2
scripts/check-packages.sh
scripts/nspawn-test.sh
# The sidecar image, built without a registry and run under chroot (about 15 s).
scripts/test-image.sh
