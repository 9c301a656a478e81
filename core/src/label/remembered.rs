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
//! (relaxed atomic stores) and the entry's tag byte, then publishes the slot index with
//! `Release`; a reader compares the addresses only after loading the index with `Acquire`,
//! so it sees the writer's stores. Every field is an atomic: a reader can never see a torn
//! value, only an entry that is not filled yet, which it steps over.

use crate::label::bytes::ByteWord;
use crate::macros::{const_fn, fresh_array};
use crate::sync::{AtomicU32, AtomicUsize, Ordering};

/// How many label sets a family remembers.
pub const REMEMBERED: usize = 16;

const FREE: u32 = 0;
const WRITING: u32 = 1;
/// A filled entry's state is its slot index plus this.
const FILLED: u32 = 2;

/// Tag bytes per word of [`Remembered::tags`].
const BYTES: usize = size_of::<usize>();
/// Words of [`Remembered::tags`].
const TAG_WORDS: usize = REMEMBERED / BYTES;

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

/// A family's remembered label sets: [`REMEMBERED`] entries, and beside them one tag byte
/// per entry, so that a lookup reads the tags a word at a time and then only the entries
/// whose tag is its own.
pub(crate) struct Remembered<const LABELS: usize> {
    /// Entry `k`'s tag is byte `k % BYTES` of word `k / BYTES`: 0 until the entry is
    /// filled, then the tag of its values (high bit set, seven bits of their hash).
    tags: [AtomicUsize; TAG_WORDS],
    entries: [Entry<LABELS>; REMEMBERED],
}

impl<const LABELS: usize> Remembered<LABELS> {
    const_fn! {
        pub(crate) const fn new() -> Self {
            Self {
                tags: fresh_array!(AtomicUsize::new(0); TAG_WORDS),
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

    /// The tag byte of `values`: seven bits of a multiplicative hash of their addresses,
    /// and the high bit, so that it is never 0.
    #[inline(always)]
    fn tag(values: &[&'static str; LABELS]) -> u8 {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let mixed = values.iter().fold(0u64, |h, value| {
            (h ^ value.as_ptr().addr() as u64).wrapping_mul(K)
        });
        (mixed >> 57) as u8 | 0x80
    }

    /// The slot index remembered for `values`, if it is.
    ///
    /// Reads the tag words (`Relaxed`: a tag only says which entries to read, through their
    /// state, with `Acquire`), then each entry with this tag. A tag not yet visible, or an
    /// entry still being written, makes a miss, never a wrong answer. Two threads
    /// remembering the same values at once may fill two entries for them; both hold the
    /// same slot.
    #[inline(always)]
    pub(crate) fn recall(&self, values: &[&'static str; LABELS]) -> Option<usize> {
        let wanted = usize::splat(Self::tag(values));
        for (w, tags) in self.tags.iter().enumerate() {
            // The bytes equal to the tag (and perhaps a byte above one: read for nothing).
            let candidates = (tags.load(Ordering::Relaxed) ^ wanted).zero_bytes();
            for k in candidates.marked_bytes() {
                let entry = &self.entries[w * BYTES + k];
                let state = entry.state.load(Ordering::Acquire);
                if state >= FILLED && entry.holds(values) {
                    return Some((state - FILLED) as usize);
                }
            }
        }
        None
    }

    /// Whether some entry may still be free: its tag byte is 0.
    pub(crate) fn may_have_room(&self) -> bool {
        self.tags
            .iter()
            .any(|tags| tags.load(Ordering::Relaxed).exact_zero_bytes() != 0)
    }

    /// Remembers that `values` live in slot `slot`, in the first free entry. Does nothing
    /// when no entry is free, another thread just remembered the same values, or a length
    /// does not fit an entry: the values are then looked up by content.
    #[cold]
    pub(crate) fn remember(&self, values: &[&'static str; LABELS], slot: usize) {
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
        for (k, entry) in self.entries.iter().enumerate() {
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
                    // The entry's tag byte was 0, and only this thread writes it.
                    let tag = usize::from(Self::tag(values)) << (8 * (k % BYTES));
                    self.tags[k / BYTES].fetch_or(tag, Ordering::Relaxed);
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
