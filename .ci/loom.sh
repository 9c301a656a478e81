#!/usr/bin/env bash
# Loom models of core's concurrent structures (loom-tests/), under `--cfg corral_loom`.
#
# Only corral-loom-tests is built with the cfg, in its own target directory, so the
# normal build cache is left alone. Warnings are errors here too: code behind the loom cfg
# is compiled nowhere else. Each model prints how many executions loom explored and how
# long they took; models built with `explore` also print the outcomes they reached and fail
# if loom never reached one they require.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="--cfg corral_loom -D warnings"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
export CARGO_TARGET_DIR="${CORRAL_LOOM_TARGET_DIR:-target/loom}"

echo "loom: LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS, target dir $CARGO_TARGET_DIR"
cargo test --locked -p corral-loom-tests --profile loom --no-run
cargo test --locked -p corral-loom-tests --profile loom -- --test-threads=1 --nocapture
