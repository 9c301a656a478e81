#!/usr/bin/env bash
# API docs build with every warning denied: broken intra-doc links, private items linked
# from public docs, malformed code blocks.
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --locked
