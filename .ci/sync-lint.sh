#!/usr/bin/env bash
# core/src/sync.rs is the one file that may name an atomic type's crate, loom, or
# core::cell::UnsafeCell (comments may mention them). Everything else imports from
# crate::sync. The pattern is checked against known good and bad lines first, so a
# pattern that stopped matching fails here instead of passing everything.
set -euo pipefail
cd "$(dirname "$0")/.."

# Perl-compatible: `sync::atomic` and `sync::{` are fine only as `crate::sync::...`.
pattern='\bportable_atomic\b|\bloom\b|(?<!crate::)(?<!super::)\bsync::(atomic\b|\{)|\bcore::\{[^}]*\bsync\b|\bcell::(UnsafeCell\b|\{[^}]*\bUnsafeCell\b)'

bad=(
    'use core::sync::atomic::AtomicU64;'
    'use core::sync::{atomic::AtomicU64, Arc};'
    'use core::{hint, sync::atomic::Ordering};'
    '    sync::atomic::AtomicU32,'
    'use std::sync::atomic::Ordering;'
    'use portable_atomic::AtomicU64;'
    'let x = loom::sync::atomic::AtomicU64::new(0);'
    'use core::cell::UnsafeCell;'
    'use core::cell::{Cell, UnsafeCell};'
)
good=(
    'use crate::sync::{AtomicU64, Ordering};'
    'use crate::sync::AtomicU32;'
    'use crate::sync::{AtomicPtr, AtomicU32, AtomicUsize, Ordering, UnsafeCell, spin_loop};'
    'use core::cell::Cell;'
    'key: UnsafeCell<[u8; KEY_BYTES]>,'
)
for line in "${bad[@]}"; do
    if ! grep -qP "$pattern" <<<"$line"; then
        echo "sync-lint self-test: the pattern misses a forbidden line: $line"
        exit 1
    fi
done
for line in "${good[@]}"; do
    if grep -qP "$pattern" <<<"$line"; then
        echo "sync-lint self-test: the pattern flags an allowed line: $line"
        exit 1
    fi
done

offenders=$(grep -rnP "$pattern" core/src --include='*.rs' \
    | grep -v '^core/src/sync.rs:' \
    | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true)
if [ -n "$offenders" ]; then
    echo "these lines must take their atomics from crate::sync instead:"
    echo "$offenders"
    exit 1
fi
echo "ok: only core/src/sync.rs names atomic crates, loom or UnsafeCell's home"
