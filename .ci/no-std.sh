#!/usr/bin/env bash
# Links a #![no_std] #![no_main] binary without a global allocator that uses corral-core,
# for a target without 64-bit atomics (thumbv7em) and two without compare-and-swap
# (thumbv6m, riscv32imc; the binary opts into portable-atomic's single-core mode).
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imc-unknown-none-elf)
rustup target add "${targets[@]}"
for target in "${targets[@]}"; do
    flags=""
    if [ "$target" != thumbv7em-none-eabihf ]; then
        flags="--cfg portable_atomic_unsafe_assume_single_core"
    fi
    echo "--- $target"
    RUSTFLAGS="$flags" cargo build --release --locked \
        --manifest-path core/no-std-check/Cargo.toml --target "$target" \
        --target-dir core/no-std-check/target
    file_size=$(stat -c %s "core/no-std-check/target/$target/release/corral-no-std-check")
    echo "linked: $file_size bytes"
done
