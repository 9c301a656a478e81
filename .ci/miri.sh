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

# - isolation stays on: no test that runs under miri reads the host (the flood test that
#   reads /proc/self/status for its RSS bound is one of the tests ignored under miri);
# - leaks are ignored: core cannot allocate at all, so every heap block under miri is test
#   scaffolding, such as the registries tests `Box::leak` to get `&'static` ones;
# - floats are deterministic: miri otherwise adds a few ulps of noise to powf/log2 (as a
#   platform libm may), and the sketch's tests use them as the exact reference.
flags="-Zmiri-strict-provenance -Zmiri-symbolic-alignment-check"
flags="$flags -Zmiri-ignore-leaks"
flags="$flags -Zmiri-deterministic-floats"
MIRIFLAGS="$flags" cargo +nightly miri test --locked -p corral-core
MIRIFLAGS="$flags -Zmiri-many-seeds=0..4" \
    cargo +nightly miri test --locked -p corral-core --test storage_threads
