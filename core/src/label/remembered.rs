//! Label sets of `'static` strings remembered by address (see
//! [`DynamicFamily::with_static_labels`](crate::DynamicFamily::with_static_labels)).
//!
//! A `&'static str` never moves and its bytes never change, so two of them with the same
//! address and length are the same string. A family keeps a small table of label sets
//! made of such strings, each with the index of the slot its series lives in; a lookup
//! that finds its values' addresses there skips hashing the bytes and comparing them with
//! the stored key. Only series that exist are remembered, and a series never moves, so an
//! entry stays right forever.
//!
//! Entries are write-once, like the family's slots:
//!
//! ```text
//!   FREE ──CAS (Relaxed)──► WRITING ──store (Release)──► FILLED(slot)
//! ```
//!
//! The thread whose compare-and-swap claimed an entry writes the addresses and lengths
//! (relaxed atomic stores), then publishes the slot index with `Release`; a reader compares
//! the addresses only after loading the index with `Acquire`, so it sees the writer's
//! stores. Every field is an atomic: a reader can never see a torn value, only an entry
//! that is not filled yet, which it steps over.

use crate::macros::{const_fn, fresh_array};
use crate::sync::{AtomicU32, AtomicUsize, Ordering};

/// How many label sets a family remembers.
pub const REMEMBERED: usize = 16;

const FREE: u32 = 0;
const WRITING: u32 = 1;
/// A filled entry's state is its slot index plus this.
const FILLED: u32 = 2;

/// One remembered label set.
struct Entry<const LABELS: usize> {
    /// [`FREE`], [`WRITING`], or [`FILLED`] plus the series' slot index.
    state: AtomicU32,
    /// The lengths of the values, in label order.
    lengths: [AtomicU32; LABELS],
    /// The addresses of the values' first bytes, in label order.
    addresses: [AtomicUsize; LABELS],
}

impl<const LABELS: usize> Entry<LABELS> {
    const_fn! {
        const fn new() -> Self {
            Self {
                state: AtomicU32::new(FREE),
                lengths: fresh_array!(AtomicU32::new(0); LABELS),
                addresses: fresh_array!(AtomicUsize::new(0); LABELS),
            }
        }
    }

    /// Whether this filled entry (its state loaded with `Acquire`) holds `values`.
    #[inline(always)]
    fn holds(&self, values: &[&'static str; LABELS]) -> bool {
        values.iter().enumerate().all(|(i, value)| {
            self.addresses[i].load(Ordering::Relaxed) == value.as_ptr().addr()
                && self.lengths[i].load(Ordering::Relaxed) as usize == value.len()
        })
    }
}

/// Where a search of the table ended without finding the values.
pub(crate) enum Missed {
    /// At this free entry: the values are not remembered, and may be remembered there.
    Free(usize),
    /// Every entry is taken by other label sets (or being written).
    Full,
}

/// A family's remembered label sets: [`REMEMBERED`] entries, searched linearly from a
/// home chosen by the values' addresses.
pub(crate) struct Remembered<const LABELS: usize> {
    entries: [Entry<LABELS>; REMEMBERED],
}

impl<const LABELS: usize> Remembered<LABELS> {
    const_fn! {
        pub(crate) const fn new() -> Self {
            Self {
                entries: fresh_array!(Entry::new(); REMEMBERED),
            }
        }
    }

    /// Entries filled so far.
    pub(crate) fn len(&self) -> usize {
        self.entries
            .iter()
            .filter(|entry| entry.state.load(Ordering::Relaxed) >= FILLED)
            .count()
    }

    /// The entry a search for `values` starts at: a multiplicative hash of the addresses,
    /// its top bits.
    #[inline(always)]
    fn home(values: &[&'static str; LABELS]) -> usize {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let mixed = values.iter().fold(0u64, |h, value| {
            (h ^ value.as_ptr().addr() as u64).wrapping_mul(K)
        });
        (mixed >> (64 - REMEMBERED.trailing_zeros())) as usize
    }

    /// The slot index remembered for `values`, or where the search ended.
    ///
    /// Entries are only ever filled, never emptied, and an insert takes the first free
    /// entry from its home on, so a search can stop at a free entry: the values are not
    /// past it. Two threads remembering the same values at once may fill two entries for
    /// them; both hold the same slot, and the first one found is used.
    #[inline(always)]
    pub(crate) fn recall(&self, values: &[&'static str; LABELS]) -> Result<usize, Missed> {
        let home = Self::home(values);
        for k in 0..REMEMBERED {
            let at = (home + k) % REMEMBERED;
            let entry = &self.entries[at];
            let state = entry.state.load(Ordering::Acquire);
            if state >= FILLED {
                if entry.holds(values) {
                    return Ok((state - FILLED) as usize);
                }
            } else if state == FREE {
                return Err(Missed::Free(at));
            }
        }
        Err(Missed::Full)
    }

    /// Remembers that `values` live in slot `slot`, in the entry `at` (which a search
    /// found free), or in the next free one after it. Does nothing when no entry is free or
    /// a length does not fit an entry: the values are then looked up by content.
    #[cold]
    pub(crate) fn remember(&self, at: usize, values: &[&'static str; LABELS], slot: usize) {
        let Ok(state) = u32::try_from(slot).map(|slot| slot + FILLED) else {
            return;
        };
        let mut lengths = [0u32; LABELS];
        for (length, value) in lengths.iter_mut().zip(values) {
            let Ok(fits) = u32::try_from(value.len()) else {
                return;
            };
            *length = fits;
        }
        let home = Self::home(values);
        // The distance of `at` from home: the search resumes there.
        let start = (at + REMEMBERED - home) % REMEMBERED;
        for k in start..REMEMBERED {
            let entry = &self.entries[(home + k) % REMEMBERED];
            // A claim only has to be exclusive (a read-modify-write of one location): what
            // the entry publishes is ordered by the `Release` store below. A failed claim
            // loads with `Acquire`, so a filled entry it meets can be compared.
            match entry
                .state
                .compare_exchange(FREE, WRITING, Ordering::Relaxed, Ordering::Acquire)
            {
                Ok(_) => {
                    for (i, value) in values.iter().enumerate() {
                        entry.addresses[i].store(value.as_ptr().addr(), Ordering::Relaxed);
                        entry.lengths[i].store(lengths[i], Ordering::Relaxed);
                    }
                    entry.state.store(state, Ordering::Release);
                    return;
                }
                // Another thread filled it first, perhaps with these very values: then
                // there is nothing left to do.
                Err(taken) => {
                    if taken >= FILLED && entry.holds(values) {
                        return;
                    }
                }
            }
        }
    }
}
