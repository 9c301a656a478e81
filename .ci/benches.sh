#!/usr/bin/env bash
# Benches must not rot: compile every bench of corral-benches, run each routine once in
# criterion's test mode, and run the contention and memory binaries at tiny sizes (the
# memory binary fails if any library does not report exactly the series it was given; the
# contention binary fails if Corral or the raw baseline lost an increment). No timing is
# judged here: numbers come from `cargo bench`, see benches/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo bench --locked --no-run -p corral-benches
cargo bench --locked -p corral-benches -- --test
# The bench profile's build, reused: no second optimised build of the peers.
cargo run --locked --profile bench -p corral-benches --bin contention -- \
    --threads 1,2 --runs 1 --ops 2000
cargo run --locked --profile bench -p corral-benches --bin memory -- \
    --counters 200 --histograms 20
# The peer-shape fixture's heap per series; fails unless every library renders every sample.
cargo run --locked --profile bench -p corral-benches --bin shape_memory
