#!/usr/bin/env bash
# Fuzz targets (fuzz/, cargo-fuzz + libFuzzer, nightly): each runs for a bounded time on a
# copy of its committed seed corpus, under AddressSanitizer (cargo-fuzz's default). A crash,
# a failed oracle, a timeout or the memory limit fails the step; the input that did it is
# left in fuzz/artifacts/<target>/ and `cargo +nightly fuzz run <target> <file>` replays it.
#
# FUZZ_SECONDS (default 20) sets each target's time. The instrumented build (nightly,
# AddressSanitizer, the exporters' dependency tree) goes to a target directory outside the
# clone, CORRAL_FUZZ_TARGET_DIR (default ~/.cache/corral/fuzz-target), so that a later run
# on the same machine rebuilds only Corral's crates.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi
cargo +nightly fuzz --version

seconds=${FUZZ_SECONDS:-20}
cd fuzz
# cargo-fuzz has no --locked: a fetch with --locked fails first if fuzz/Cargo.lock is stale.
cargo +nightly fetch --locked
target_dir=${CORRAL_FUZZ_TARGET_DIR:-$HOME/.cache/corral/fuzz-target}
# 16 codegen units instead of cargo-fuzz's 1: the instrumented build of the exporters'
# dependency tree is most of this step's time. `run` gets the same flags, or it rebuilds.
build_flags=(--codegen-units 16 --target-dir "$target_dir")
cargo +nightly fuzz build "${build_flags[@]}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for target in $(cargo +nightly fuzz list); do
    if [ ! -d "corpus/$target" ]; then
        echo "fuzz: no seed corpus fuzz/corpus/$target" >&2
        exit 1
    fi
    mkdir -p "$work/$target"
    cp corpus/"$target"/* "$work/$target/"
    echo "--- fuzz $target (${seconds}s)"
    # -timeout: one input may take at most 10 s; -rss_limit_mb: 2 GiB; both fail the run.
    log="$work/$target.log"
    if ! cargo +nightly fuzz run "${build_flags[@]}" "$target" "$work/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1; then
        tail -n 100 "$log"
        echo "fuzz: $target failed; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" |
        sed "s/^/$target /"
done
