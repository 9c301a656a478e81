#!/usr/bin/env bash
# miri over corral-core's tests and doctests: undefined behaviour, strict provenance,
# alignment, and data races in the threaded storage test (which also runs under a few
# scheduler seeds, since one seed explores one interleaving).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    rustup +nightly component add miri rust-src
fi
cargo +nightly miri --version
cargo +nightly miri setup

flags="-Zmiri-strict-provenance -Zmiri-symbolic-alignment-check"
MIRIFLAGS="$flags" cargo +nightly miri test --locked -p corral-core
MIRIFLAGS="$flags -Zmiri-many-seeds=0..4" \
    cargo +nightly miri test --locked -p corral-core --test storage_threads
