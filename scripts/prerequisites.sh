#!/usr/bin/env bash
# What the scripts need and cannot install themselves, checked before they install anything:
# cargo (Rust at least Cargo.toml's rust-version, which Debian's own rustc is not), a C
# toolchain that links (the ring crate and rustc's linker call `cc`), and curl (rustup's
# installer is fetched with it, so it is needed only while Rust is missing or too old).
# Prints exactly what to run and exits 2 when something is missing; prints nothing otherwise.
#
#   scripts/prerequisites.sh [NAME]     NAME: the script being started, for the message
set -uo pipefail
cd "$(dirname "$0")/.."
name=${1:-$(basename "$0")}

wanted=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml | head -n 1)
problems=()
apt=()
need_rustup=false
source_env=false

# The version of the toolchain cargo would use here (rustup proxies honour a toolchain file).
rustup_cargo="$HOME/.cargo/bin/cargo"
found=$(command -v cargo 2>/dev/null || true)
if [ -x "$rustup_cargo" ] && [ "$found" != "$rustup_cargo" ]; then
    problems+=("rustup's cargo is in $HOME/.cargo/bin, which is not first on PATH (PATH finds ${found:-no cargo})")
    source_env=true
elif [ -z "$found" ]; then
    problems+=("cargo is not on PATH: the crate needs Rust $wanted or later, and Debian 12's own rustc (1.63) is too old")
    need_rustup=true
else
    have=$( (rustc --version 2>/dev/null || cargo --version 2>/dev/null) | sed -n 's/^[a-z]* \([0-9][0-9.]*\).*/\1/p')
    if [ -z "$have" ]; then
        problems+=("cargo is on PATH ($found) but does not say its version")
        need_rustup=true
    elif [ "$(printf '%s\n%s\n' "$wanted" "$have" | sort -V | head -n 1)" != "$wanted" ]; then
        problems+=("Rust $have ($found) is too old: the crate needs Rust $wanted or later (rust-version in Cargo.toml)")
        need_rustup=true
    fi
fi

if ! command -v cc >/dev/null 2>&1; then
    problems+=("no C compiler (cc): the ring crate and rustc's linker need one")
    apt+=(gcc libc6-dev)
else
    probe=$(mktemp -d)
    if ! printf 'int main(void) { return 0; }\n' | cc -x c - -o "$probe/a.out" >"$probe/log" 2>&1; then
        problems+=("cc cannot link a program ($(head -n 1 "$probe/log")): the C library's headers and start files are missing")
        apt+=(gcc libc6-dev)
    fi
    rm -rf "$probe"
fi

if $need_rustup && ! command -v curl >/dev/null 2>&1; then
    problems+=("no curl: rustup's installer is fetched with it")
    apt+=(curl ca-certificates)
fi

[ ${#problems[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo "
{
    echo "$name cannot start; nothing has been installed yet. What is missing:"
    for problem in "${problems[@]}"; do echo "  - $problem"; done
    echo "Run:"
    [ ${#apt[@]} -gt 0 ] && echo "  ${sudo}apt-get install -y ${apt[*]}"
    if $need_rustup; then
        if command -v rustup >/dev/null 2>&1; then
            echo "  rustup update stable && rustup default stable"
        else
            echo "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --default-toolchain stable"
        fi
    fi
    if $need_rustup || $source_env; then
        echo "  . \"\$HOME/.cargo/env\"     # puts ~/.cargo/bin first on PATH in this shell (new shells do it themselves)"
    fi
    echo "then start $name again."
} >&2
exit 2
