#!/usr/bin/env bash
# core/src/sync.rs is the one file that may name an atomic type's crate or UnsafeCell
# (comments may mention them).
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='core::sync::atomic|portable_atomic|loom::|core::cell::UnsafeCell|\bloom\b'
offenders=$(grep -rnE "$pattern" core/src --include='*.rs' \
    | grep -v '^core/src/sync.rs:' \
    | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true)
if [ -n "$offenders" ]; then
    echo "these lines must take their atomics from crate::sync instead:"
    echo "$offenders"
    exit 1
fi
echo "ok: only core/src/sync.rs names atomic crates"
