#!/usr/bin/env bash
# API docs build with every warning denied: broken intra-doc links, private items linked
# from public docs, malformed code blocks.
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --locked
# The exporters' modules are behind features, which the workspace build leaves off.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked -p corral-exporters \
    --features http,tls,zstd,tracing,tracing-bridge,metrics-facade,pushgateway
