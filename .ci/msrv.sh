#!/usr/bin/env bash
# Builds and tests the workspace (corral-benches left out: its peers are not bound by the
# declared version and CI runs it on stable) with the toolchain the
# workspace declares as `rust-version`, in its own target directory so the stable build's
# artefacts are not invalidated.
set -euo pipefail
cd "$(dirname "$0")/.."
msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)
if [ -z "$msrv" ]; then
    echo "msrv.sh: no rust-version in Cargo.toml" >&2
    exit 1
fi
rustup toolchain install "$msrv" --profile minimal
echo "--- rustc +$msrv: $(rustc "+$msrv" --version)"
cargo "+$msrv" test --workspace --exclude corral-benches --locked --target-dir target/msrv
