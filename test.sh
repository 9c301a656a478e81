#!/usr/bin/env bash
# The test command: installs what the suite needs and is missing, then runs it.
#   ./test.sh            format check, clippy (warnings denied), every test of the workspace
# Tests that need a real peer (promtool, Python's prometheus_client, an OTLP collector) find
# it through the environment this script sets up, and fail with an install hint without it.
set -euo pipefail
cd "$(dirname "$0")"
source .ci/lib.sh

ensure_tools
step "cargo fmt --check" cargo fmt --all -- --check
# The fuzz crate is outside the workspace: its targets are checked file by file.
step "rustfmt --check (fuzz targets)" rustfmt --edition 2024 --check fuzz/fuzz_targets/*.rs
step "cargo clippy (deny warnings)" cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo test --workspace" cargo test --workspace --locked
