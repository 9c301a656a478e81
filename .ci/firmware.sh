#!/usr/bin/env bash
# Firmware under QEMU: builds each example of core/examples/firmware (Cortex-M4 on
# mps2-an386, Cortex-M0 on microbit, riscv32imc on virt) in both configurations of
# corral-core (default and `small`), as the minimal firmware and with the `tour` feature
# (every metric type, exemplars, OpenMetrics), runs it under QEMU with a timeout, checks its
# output with promtool and prometheus_client against the values it recorded (the
# interrupt's increments included), prints flash cost and peak stacks, and fails when the
# size-oriented thumbv7em minimal firmware grows past its budget. Runs core's tests in the
# `small` configuration first: both configurations pass the same golden tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Flash budget of the size-oriented (`small`) minimal thumbv7em firmware, .text + .rodata.
SMALL_THUMBV7EM_BUDGET=27648

for pkg in qemu-system-arm qemu-system-misc; do
    if ! dpkg -s "$pkg" >/dev/null 2>&1; then
        echo "firmware: installing $pkg (apt-get install $pkg)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg"
    fi
done
if ! command -v promtool >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus
fi
if ! python3 -c "import prometheus_client.parser, prometheus_client.openmetrics.parser" 2>/dev/null; then
    python3 -m pip install --quiet prometheus_client
fi
rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imc-unknown-none-elf

echo "--- corral-core tests in the size-oriented configuration"
tests=$(mktemp)
if ! cargo test -p corral-core --features small --locked --quiet >"$tests" 2>&1; then
    cat "$tests"
    echo "firmware: corral-core's tests fail in the small configuration" >&2
    exit 1
fi
grep -c "^test result: ok" "$tests" | xargs printf '  %s test binaries passed\n'
rm -f "$tests"

firmware=core/examples/firmware
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
declare -A triples=(
    [cortex-m4]=thumbv7em-none-eabihf
    [cortex-m0]=thumbv6m-none-eabi
    [riscv32imc]=riscv32imc-unknown-none-elf
)
for board in cortex-m4 cortex-m0 riscv32imc; do
    triple=${triples[$board]}
    for config in default small; do
        for variant in minimal tour; do
            features=""
            [ "$config" = small ] && features="small"
            [ "$variant" = tour ] && features="$features tour"
            echo "--- $board ($triple), corral-core $config configuration, $variant firmware"
            (cd "$firmware/$board" && cargo build --release --locked --quiet --features "$features")
            elf="$firmware/target/$triple/release/corral-firmware-$board"
            budget=""
            if [ "$board" = cortex-m4 ] && [ "$config" = small ] && [ "$variant" = minimal ]; then
                budget=$SMALL_THUMBV7EM_BUDGET
                echo "  budget: $budget bytes of .text+.rodata"
            fi
            python3 .ci/firmware-size.py "$elf" $budget
            log="$out/$board-$config-$variant.txt"
            # `cargo run` uses the runner of the board's .cargo/config.toml (the QEMU line).
            if ! (cd "$firmware/$board" && timeout 60 cargo run --release --locked --quiet \
                --features "$features") >"$log" 2>"$log.err"; then
                cat "$log" "$log.err"
                echo "firmware: $board did not run to completion under QEMU" >&2
                exit 1
            fi
            args=()
            [ "$variant" = tour ] && args=(--tour)
            python3 .ci/firmware-check.py "$log" "${args[@]}"
        done
    done
done
echo "firmware: every board ran, rendered what it recorded, and stayed within budget"
