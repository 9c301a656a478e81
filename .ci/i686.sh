#!/usr/bin/env bash
# corral-core's tests on a 32-bit host target (i686: 32-bit pointers and usize, 64-bit
# atomics through cmpxchg8b), so the 32-bit paths run, not only link. Needs Debian's
# gcc-multilib for the 32-bit C runtime the test binaries link against.
set -euo pipefail
cd "$(dirname "$0")/.."
target=i686-unknown-linux-gnu
rustup target add "$target"
if ! dpkg -s gcc-multilib >/dev/null 2>&1; then
    echo "i686.sh: installing gcc-multilib (apt-get install gcc-multilib)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-multilib
fi
cargo test -p corral-core --locked --target "$target"
