#!/usr/bin/env bash
# Benches must not rot: compile every bench of corral-benches, run each routine once in
# criterion's test mode, and run the contention and memory binaries at tiny sizes (the
# memory binary fails if any library does not report exactly the series it was given; the
# contention binary fails if Corral or the raw baseline lost an increment; the scrape_load
# binary fails if a server does not serve exactly the series it was given). No timing is
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
# The scrape load binary against every peer's HTTP path, at a tiny size (it fails if a
# server does not serve exactly the series it was given). Needs wrk.
if ! command -v wrk >/dev/null 2>&1; then
    echo "benches.sh: installing wrk (apt-get install wrk)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
cargo run --locked --profile bench -p corral-benches --bin scrape_load -- \
    --families 10 --duration 1 --connections 2 --wrk-threads 1 \
    --record-secs 1 --stall-families 10 --stall-secs 1
