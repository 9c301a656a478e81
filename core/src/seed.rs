//! A process-wide label hash seed, set once at start-up: [`GlobalSeed`].

use core::fmt;
use core::hash::BuildHasher;

use foldhash::fast::{FixedState, FoldHasher};

use crate::sync::{Ordering, StaticU64};

/// The seed of families hashed with [`DefaultHashBuilder`](crate::DefaultHashBuilder)
/// through [`DynamicFamily::new`](crate::DynamicFamily::new); published, and what
/// [`GlobalSeed`] uses until [`set_hash_seed`] is called.
pub(crate) const DEFAULT_SEED: u64 = 0x636f_7272_616c_5f31;

/// The seed word: the seed in the high 62 bits, [`SET`] and [`USED`] in the low two.
/// Once `USED` is set the word never changes again.
static WORD: StaticU64 = StaticU64::new(DEFAULT_SEED << 2);
const SET: u64 = 0b01;
const USED: u64 = 0b10;

/// A zero-sized [`BuildHasher`] for [`DynamicFamily`](crate::DynamicFamily) whose seed is
/// set once for the whole program with [`set_hash_seed`]: by `corral-std` from the
/// operating system's random source, by firmware from its hardware RNG, before any label
/// lookup. A family hashed with it is as easy to declare as any other `static`:
///
/// ```
/// use corral_core::{Counter, DynamicFamily, GlobalSeed};
///
/// static TENANTS: DynamicFamily<Counter, 1, 64, 112, GlobalSeed> = DynamicFamily::seeded(["tenant"]);
///
/// corral_core::set_hash_seed(0x5eed_1234_abcd).unwrap(); // at start-up, e.g. from an RNG
/// TENANTS.with_labels(["acme"]).inc();
/// assert!(corral_core::set_hash_seed(7).is_err()); // too late: a family has hashed with it
/// ```
///
/// Prefer it whenever label values can come from outside the program (tenant names, paths,
/// headers): with a fixed seed, which is public, values that all land in one probe chain can
/// be computed offline. The seed keeps 62 bits. Hashing reads it with one atomic load; on a
/// target without 64-bit atomics (thumbv7em) that load goes through `portable-atomic`'s
/// fallback.
#[derive(Clone, Copy, Debug, Default)]
pub struct GlobalSeed;

impl BuildHasher for GlobalSeed {
    type Hasher = FoldHasher<'static>;

    #[inline]
    fn build_hasher(&self) -> FoldHasher<'static> {
        let mut word = WORD.load(Ordering::Acquire);
        if word & USED == 0 {
            word = mark_used();
        }
        FixedState::with_seed(word >> 2).build_hasher()
    }
}

/// Sets `USED` on the seed word and returns the word it was set on: every hash made with
/// that seed happens after the word stopped changing.
#[cold]
fn mark_used() -> u64 {
    let mut word = WORD.load(Ordering::Acquire);
    loop {
        if word & USED != 0 {
            return word;
        }
        match WORD.compare_exchange_weak(word, word | USED, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return word | USED,
            Err(actual) => word = actual,
        }
    }
}

/// Why [`set_hash_seed`] refused a seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SeedError {
    /// A seed was set already; the first one stays.
    AlreadySet,
    /// A family hashed label values with [`GlobalSeed`] before the seed was set: changing
    /// it now would give existing series new slots. The seed in use stays.
    AlreadyUsed,
}

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeedError::AlreadySet => f.write_str("the label hash seed was set already"),
            SeedError::AlreadyUsed => f.write_str(
                "the label hash seed cannot change after a family has hashed with it; \
                 set it at start-up, before the first label lookup",
            ),
        }
    }
}

impl core::error::Error for SeedError {}

/// Sets the seed of every [`GlobalSeed`] family, once, before any of them looks up a label
/// (62 bits of `seed` are kept).
///
/// # Errors
///
/// [`SeedError::AlreadySet`] on a second call; [`SeedError::AlreadyUsed`] once a
/// `GlobalSeed` family has hashed label values.
pub fn set_hash_seed(seed: u64) -> Result<(), SeedError> {
    let mut word = WORD.load(Ordering::Acquire);
    loop {
        if word & USED != 0 {
            return Err(SeedError::AlreadyUsed);
        }
        if word & SET != 0 {
            return Err(SeedError::AlreadySet);
        }
        let next = (seed << 2) | SET;
        match WORD.compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Ok(()),
            Err(actual) => word = actual,
        }
    }
}

/// Whether a seed was set with [`set_hash_seed`] (rather than the published default
/// being in use).
pub fn hash_seed_is_set() -> bool {
    WORD.load(Ordering::Acquire) & SET != 0
}
