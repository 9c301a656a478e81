//! Cache-line padding for independently updated slots.

use core::ops::Deref;

/// Pads and aligns a value to the length of a cache line on targets where that prevents
/// false sharing between cores, and leaves it alone where it would only waste memory.
///
/// Alignment by target, following crossbeam-utils' `CachePadded` table and its sources:
///
/// | target | alignment |
/// | --- | --- |
/// | x86_64, aarch64, arm64ec, powerpc64 | 128 bytes (adjacent-line prefetch pairs 64-byte lines) |
/// | s390x | 256 bytes |
/// | arm, mips, sparc, hexagon with an operating system | 32 bytes |
/// | `target_os = "none"` (microcontrollers: one core, usually no data cache) | none |
/// | everything else | 64 bytes |
///
/// Corral pads only what contends: the per-series slot and each stripe of a
/// [`ShardedCounter`](crate::ShardedCounter), never the registry's bookkeeping.
#[cfg_attr(
    all(
        not(target_os = "none"),
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "arm64ec",
            target_arch = "powerpc64",
        )
    ),
    repr(C, align(128))
)]
#[cfg_attr(
    all(not(target_os = "none"), target_arch = "s390x"),
    repr(C, align(256))
)]
#[cfg_attr(
    all(
        not(target_os = "none"),
        any(
            target_arch = "arm",
            target_arch = "mips",
            target_arch = "mips32r6",
            target_arch = "sparc",
            target_arch = "hexagon",
        )
    ),
    repr(C, align(32))
)]
#[cfg_attr(
    all(
        not(target_os = "none"),
        not(any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "arm64ec",
            target_arch = "powerpc64",
            target_arch = "s390x",
            target_arch = "arm",
            target_arch = "mips",
            target_arch = "mips32r6",
            target_arch = "sparc",
            target_arch = "hexagon",
        ))
    ),
    repr(C, align(64))
)]
#[cfg_attr(target_os = "none", repr(transparent))]
#[derive(Debug, Default)]
pub struct CachePadded<T> {
    value: T,
}

impl<T> CachePadded<T> {
    /// Wraps a value.
    pub const fn new(value: T) -> Self {
        Self { value }
    }
}

impl<T> Deref for CachePadded<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        &self.value
    }
}

/// The alignment [`CachePadded`] uses on the target this crate was built for.
pub const CACHE_LINE: usize = core::mem::align_of::<CachePadded<u8>>();

/// Whether [`prefetch`] issues anything: on x86_64 (where SSE's prefetch is always there),
/// except under loom and Miri. Where it is `false`, code that reads memory only to decide
/// what to prefetch can skip the reads.
pub(crate) const PREFETCHES: bool = cfg!(all(target_arch = "x86_64", not(corral_loom), not(miri)));

/// Asks the CPU to start loading the cache line holding `at` into its caches, so that a
/// read of it a little later does not wait on memory. Only a hint: it reads nothing the
/// program sees and changes no result. Issued where [`PREFETCHES`] says; elsewhere it does
/// nothing.
#[inline(always)]
pub(crate) fn prefetch<T>(at: *const T) {
    // The same condition as `PREFETCHES`, which `cfg` cannot name.
    #[cfg(all(target_arch = "x86_64", not(corral_loom), not(miri)))]
    // SAFETY: a prefetch never faults and is not a memory access in Rust's model, so any
    // address is allowed.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(at.cast());
    }
    // Where no prefetch is issued, `at` is otherwise unused.
    let _ = at;
}
