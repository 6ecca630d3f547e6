#!/usr/bin/env bash
# Installs what the tests and the demo need on a Debian 12 machine (idempotent):
# Debian's nginx-light and logrotate, and ministack (+ cbor2, boto3), cfn-lint, python-hcl2,
# moto's server and the AWS CLI (v1) in .venv; wrk for the soak; npm (with nodejs) for
# scripts/check-cdk.sh; promtool (Debian's prometheus package) to lint /metrics.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v logrotate >/dev/null || [ -x /usr/sbin/logrotate ] || missing+=(logrotate)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
# wrk: the load of tests/soak.rs (its short run is part of cargo test).
command -v wrk >/dev/null || missing+=(wrk)
# node and npm for scripts/check-cdk.sh (the guide's CDK snippets, type-checked).
command -v npm >/dev/null || missing+=(npm)
# promtool: `promtool check metrics` on a live /metrics (tests/access_log.rs).
command -v promtool >/dev/null || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    echo "setup: ${missing[*]} must be installed, and this is neither root nor has sudo. As root, run:" >&2
    echo "  apt-get install -y ${missing[*]}" >&2
    exit 2
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    sudo_if_needed apt-get update -qq
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! .venv/bin/python -c 'import ministack, cbor2, boto3, prometheus_client, cfnlint, hcl2, moto.server, awscli' 2>/dev/null; then
    echo "setup: installing ministack, cfn-lint, python-hcl2, moto and the AWS CLI in .venv" >&2
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements-test.txt
fi
