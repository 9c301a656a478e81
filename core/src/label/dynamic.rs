//! Dynamic string labels: a fixed-capacity, insert-only, open-addressed table.
//!
//! Each series lives in one cache-padded slot holding its metric cell, a state word and
//! its label values (encoded, see `core/src/encoded.rs`). A lookup hashes the values,
//! probes linearly from the hash's home slot, and either finds the series or claims the
//! first empty slot for it. Slots are never freed or moved, so a reader holds no lock and
//! a handle stays valid forever.
//!
//! Slot state machine (one `AtomicU32`: a 30-bit hash tag above a 2-bit status):
//!
//! ```text
//!   EMPTY ──CAS (Acquire)──► WRITING(tag) ──store (Release)──► READY(tag)
//!                                 │
//!                                 └──store (Relaxed)──► DEAD   (no series could be reserved)
//! ```
//!
//! Only the thread whose compare-and-swap moved a slot out of EMPTY reserves a series for
//! it and writes its key; it publishes READY with `Release` after the last byte, and
//! readers compare the key only after loading READY with `Acquire`. If the family or the
//! registry's budget turns out to be spent, the slot becomes DEAD for good and lookups
//! step over it. A reader that meets WRITING with its own tag may be racing an insert of
//! the same label values, so it waits — a bounded spin, after which it gives up and
//! records into the overflow series rather than risk spinning forever against a preempted
//! writer (or the code an interrupt handler interrupted).
//!
//! `core/IMPLEMENTATION.md` (the `implementation` module of the crate docs) records every
//! ordering here and why.

use core::hash::{BuildHasher, Hasher};
use core::ops::ControlFlow;

use foldhash::fast::FixedState;

use crate::collect::{Collect, OverflowTally, Prefetch, SeriesSink};
use crate::config::{Limits, RegistryConfig};
use crate::encoded::{self, EncodedValues};
use crate::error::{LabelError, OverflowCounts, Reason};
use crate::label::bytes::ByteWord;
use crate::label::remembered::Remembered;
use crate::macros::{const_fn, fresh_array};
use crate::metric::{
    HistogramCells, Metric, MetricKind, NativeHistogramCells, NativeHistogramConfig, SummaryCells,
    SummaryConfig, check_bounds, init_metric,
};
use crate::pad::{CachePadded, PREFETCHES, prefetch};
use crate::sync::{AtomicPtr, AtomicU8, AtomicU32, AtomicUsize, Ordering, UnsafeCell, spin_loop};
use crate::value::SeriesLabels;

/// The hasher core uses by default: foldhash with a fixed seed. It needs no allocator and
/// no entropy source, so it links on every target; `corral-std` swaps in per-process random
/// seeds for label values that come from untrusted input.
pub type DefaultHashBuilder = FixedState;

use crate::seed::{DEFAULT_SEED, GlobalSeed};

const EMPTY: u32 = 0;
const WRITING: u32 = 1;
const READY: u32 = 2;
const DEAD: u32 = 3;
const STATUS: u32 = 0b11;

/// A slot's hint byte (see `DynamicFamily::hints`): 0 while the slot is EMPTY (and for the
/// moment between its claim and the hint store); `HINT_CLAIMED | 7 bits of the tag` from
/// its claim on (WRITING, then READY); `HINT_DEAD` once DEAD.
const HINT_CLAIMED: u8 = 0x80;
const HINT_DEAD: u8 = 0x01;

/// The hint byte of a slot claimed for a key whose state carries `tag`.
#[inline(always)]
const fn tag_hint(tag: u32) -> u8 {
    HINT_CLAIMED | ((tag >> 2) & 0x7f) as u8
}

/// The hint bytes of `hints` packed into a word, the first in the lowest byte. Relaxed: a
/// hint only says which slots to read (through their state, with `Acquire`), except in a
/// sealed family, where the `Acquire` load of `len` that saw [`SEALED`] orders these loads
/// after every claim that reserved a series (see `DynamicFamily::probe`).
#[inline(always)]
fn gather_hints(hints: &[AtomicU8]) -> u64 {
    hints.iter().enumerate().fold(0, |word, (k, hint)| {
        word | u64::from(hint.load(Ordering::Relaxed)) << (8 * k)
    })
}

/// The presence bit of a key (see `DynamicFamily::present`) comes from its tag's bits from
/// this one up: above the seven the hint uses, so the two filter independently.
const PRESENCE_SHIFT: u32 = 9;

/// The top bit of `len`: set, once, when the family is registered.
const ATTACHED: usize = !(usize::MAX >> 1);
/// The next bit of `len`: set, once, by the reservation that admitted the table's last
/// series ([`admitted_series`]). The family is then full for good, whatever the registry
/// says, and a probe that meets an EMPTY slot's hint can stop there (see `probe`).
const SEALED: usize = ATTACHED >> 1;
/// The series count in `len`.
const COUNT: usize = usize::MAX >> 2;

/// The farthest from its home slot a series may be placed, in slots. A lookup never
/// probes further: past it the values have no series, and an insert that would go further
/// is refused (the recording goes to the overflow series, reason `probe_limit`).
///
/// With a well-mixed hash and the table at most three quarters full (see
/// [`admitted_series`]), linear probing rarely displaces a key this far: in simulations of
/// tables of 1,024 to 65,536 slots filled to the bound with random hashes, no insert of
/// about 400,000 went past it. What reaches it is a flood of values that collide on purpose,
/// which is why `corral-std` seeds the hash per process.
pub const MAX_PROBE: usize = 128;

/// The most series a dynamic table of `slots` slots admits: three quarters of them
/// (all of them for tables of fewer than four slots), so that a lookup that finds nothing
/// meets an empty slot after a few probes instead of walking a full table.
pub const fn admitted_series(slots: usize) -> usize {
    slots - slots / 4
}

/// How much larger than needed a dynamic table may be for a registry's
/// `max_series_per_metric` (see `Collect::check`).
const MAX_SLOTS_PER_LIMIT: usize = 2;

/// The smallest table (a power of two) that admits `series` series.
pub(crate) const fn slots_for(series: usize) -> usize {
    let mut slots = 1usize;
    while admitted_series(slots) < series {
        match slots.checked_mul(2) {
            Some(more) => slots = more,
            None => return usize::MAX,
        }
    }
    slots
}

/// How many times a reader re-checks a slot another thread is writing before giving up.
#[cfg(not(corral_loom))]
const SPIN_LIMIT: u32 = 1 << 14;
#[cfg(corral_loom)]
const SPIN_LIMIT: u32 = 2;

#[repr(C)]
struct Slot<M, const KEY_BYTES: usize> {
    metric: M,
    state: AtomicU32,
    key: UnsafeCell<[u8; KEY_BYTES]>,
}

// SAFETY: the only non-`Sync` field is `key`, and no access to it races:
// - it is written only by the one thread whose CAS moved `state` from EMPTY to WRITING,
//   and only before that thread stores READY with `Release`;
// - it is read only after `state` was loaded as READY with `Acquire`, which orders the read
//   after every write to it;
// - once READY, `state` never changes again, so the key is never written after that.
unsafe impl<M: Sync, const KEY_BYTES: usize> Sync for Slot<M, KEY_BYTES> {}

impl<M: Metric, const KEY_BYTES: usize> Slot<M, KEY_BYTES> {
    const_fn! {
        const fn new() -> Self {
            Self {
                metric: init_metric!(M),
                state: AtomicU32::new(EMPTY),
                key: UnsafeCell::new([0; KEY_BYTES]),
            }
        }
    }

    /// Runs `f` on the stored key.
    ///
    /// # Safety
    ///
    /// The caller must have loaded `state` as READY with `Acquire` ordering (or stronger)
    /// on this slot. Then the writer's bytes are visible, and no thread writes the key
    /// again (see the `Sync` impl). On any other state the key may be being written.
    #[inline]
    unsafe fn with_key<R>(&self, f: impl FnOnce(&[u8; KEY_BYTES]) -> R) -> R {
        self.key.with(|key| {
            // SAFETY: the caller observed READY with `Acquire` (this function's contract).
            f(unsafe { &*key })
        })
    }

    /// Waits out a concurrent insert; returns the state once it is no longer WRITING.
    #[cold]
    fn wait_ready(&self) -> Result<u32, LabelError> {
        for _ in 0..SPIN_LIMIT {
            spin_loop();
            let state = self.state.load(Ordering::Acquire);
            if state & STATUS != WRITING {
                return Ok(state);
            }
        }
        Err(LabelError::Contended)
    }
}

/// A family whose `LABELS` label values are strings chosen at run time, in a fixed table
/// of `SERIES` slots (a power of two). Each series stores its values in its own slot, in
/// `KEY_BYTES` bytes (by default 112, which with an 8-byte counter and the 4-byte state
/// word fills one 128-byte cache line).
///
/// Cardinality is bounded by construction: when the table is full, the registry-wide
/// series budget is spent, or the values are too long, the recording goes to the family's
/// overflow series (`otel_metric_overflow="true"`) and the rejection is counted. Nothing is
/// lost, nothing panics, nothing allocates.
///
/// ```
/// use corral_core::{Counter, DynamicFamily};
///
/// static REQUESTS: DynamicFamily<Counter, 2, 64> = DynamicFamily::new(["method", "status"]);
///
/// let ok = REQUESTS.with_labels(["GET", "200"]); // a `&'static Counter`: keep it
/// ok.inc();
/// REQUESTS.with_labels(["GET", "200"]).inc();
/// assert_eq!(ok.get(), 2);
/// ```
///
/// ## Bounds
///
/// The table admits at most [`admitted_series`]`(SERIES)` series (three quarters of its
/// slots; fewer if the registry's `max_series_per_metric` says so), so a lookup of values
/// that have no series stops at an empty slot after a few probes, and no lookup ever probes
/// more than [`MAX_PROBE`] slots past the home slot. A series that would have to be placed
/// further goes to the overflow series under the reason `probe_limit`. Once the table holds
/// every series it admits, it is sealed: a lookup of values without a series mostly ends
/// at a presence filter (one bit per key, eight per slot; about one in eleven set at the
/// bound), else at the first empty slot's hint byte, without reading further slots or
/// trying to insert. A flood of distinct values into a full family then costs about what a
/// hit does: a hash, the home slot, one filter byte and the overflow counts
/// (`benches/benches/flood.rs` compares the two).
pub struct DynamicFamily<
    M: Metric,
    const LABELS: usize,
    const SERIES: usize,
    const KEY_BYTES: usize = 112,
    S = DefaultHashBuilder,
> {
    names: [&'static str; LABELS],
    config: M::Config,
    hasher: S,
    slots: [CachePadded<Slot<M, KEY_BYTES>>; SERIES],
    /// One byte per slot, side by side, so that a probe past the home slot reads a line of
    /// hints instead of one slot (a cache line) per step: 0 while the slot is EMPTY,
    /// `HINT_CLAIMED` and seven bits of its tag once an insert claimed it, `HINT_DEAD` once
    /// DEAD. A slot whose hint is 0 or matches is read through its state; only in a sealed
    /// family does a 0 end a probe on its own.
    hints: [AtomicU8; SERIES],
    /// A one-hash filter of the keys slots were ever claimed for, eight bits per slot: an
    /// insert sets its key's bit (chosen by tag bits the hint does not use) after claiming a
    /// slot and before reserving a series. Once a lookup's `Acquire` load of `len` has seen
    /// [`SEALED`], every insert that reserved a series is ordered before it (each
    /// reservation is a read-modify-write of `len` before the sealing one), so a clear bit
    /// read after that load means the values have no series and never will. With the
    /// table at its three-quarter bound, about one bit in eleven is set.
    present: [AtomicU8; SERIES],
    /// Label sets of `'static` strings looked up through
    /// [`with_static_labels`](Self::with_static_labels), by address, with their slots.
    remembered: Remembered<LABELS>,
    overflow: CachePadded<M>,
    /// Series reserved so far in the low bits, the [`ATTACHED`] flag in the top bit once
    /// the family is registered (an insert whose reservation saw the flag takes its own
    /// share of the registry's series budget; registration counts every reservation made
    /// before the flag), and the [`SEALED`] flag below it once the table is full.
    len: AtomicUsize,
    /// The longest probe distance any insert has used: a key that exists is never further
    /// from its home slot, which lets a lookup in a full table stop early.
    max_probe: AtomicUsize,
    tally: OverflowTally,
    /// The registry this family is registered in; null until then.
    limits: AtomicPtr<Limits>,
}

impl<M: Metric, const LABELS: usize, const SERIES: usize, const KEY_BYTES: usize, S>
    DynamicFamily<M, LABELS, SERIES, KEY_BYTES, S>
{
    const_fn! {
        /// A family with label `names`, shared `config`, and the hasher `hasher`.
        ///
        /// Use this to plug in another [`BuildHasher`]; `corral-std` passes a randomly seeded
        /// one. For histograms, `config` is the bucket bounds, checked at registration.
        pub const fn with_hasher(names: [&'static str; LABELS], config: M::Config, hasher: S) -> Self {
            const {
                assert!(SERIES.is_power_of_two(), "SERIES must be a power of two");
                assert!(SERIES <= (1 << 30), "SERIES must be at most 2^30");
            };
            Self {
                names,
                config,
                hasher,
                slots: fresh_array!(CachePadded::new(Slot::new()); SERIES),
                hints: fresh_array!(AtomicU8::new(0); SERIES),
                present: fresh_array!(AtomicU8::new(0); SERIES),
                remembered: Remembered::new(),
                overflow: CachePadded::new(init_metric!(M)),
                len: AtomicUsize::new(0),
                max_probe: AtomicUsize::new(0),
                tally: OverflowTally::new(),
                limits: AtomicPtr::new(core::ptr::null_mut()),
            }
        }
    }

    /// The label names.
    pub fn label_names(&self) -> &[&'static str; LABELS] {
        &self.names
    }

    /// Series created so far (the overflow series not counted).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed) & COUNT
    }

    /// Whether no series was created yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The farthest from its home slot any series of this family was placed (at most
    /// [`MAX_PROBE`]).
    pub fn max_probe(&self) -> usize {
        self.max_probe.load(Ordering::Relaxed)
    }

    /// How many label sets [`with_static_labels`](Self::with_static_labels) remembers so
    /// far (at most [`REMEMBERED`](crate::REMEMBERED); threads remembering the same set at
    /// the same moment may each take an entry for it).
    pub fn remembered(&self) -> usize {
        self.remembered.len()
    }

    /// The overflow series, which recordings go to when their own series cannot exist.
    pub fn overflow(&self) -> M::Handle<'_> {
        self.overflow.handle(&self.config)
    }

    /// The registry limits, once registered.
    fn limits(&self) -> Option<&'static Limits> {
        let limits = self.limits.load(Ordering::Acquire);
        // SAFETY: `limits` is null or was stored by `attach` from a `&'static Limits`, so
        // it points to a live `Limits` for the rest of the program.
        unsafe { limits.as_ref() }
    }

    fn config_limits(&self) -> (usize, usize, Option<&'static Limits>) {
        let limits = self.limits();
        let config = limits.map_or(&RegistryConfig::DEFAULT, Limits::config);
        let cap = admitted_series(SERIES).min(config.max_series_per_metric);
        (config.max_label_value_length, cap, limits)
    }

    /// Passes the series of slots `from` (below `SERIES`) on to `sink`, in slot order.
    ///
    /// Only a claimed slot can hold a series, so the walk reads the hint bytes eight at a
    /// time and then only the slots they mark claimed: the others (at least a quarter of
    /// any table, more in one sized above its series) cost no cache line. While one group
    /// is read, the claimed slots of the group two further on are prefetched. A hint that
    /// does not show its claim yet (loaded `Relaxed`) belongs to an insert this visit is not
    /// ordered after, whose series it could miss through the slot's state just as well.
    #[inline(always)]
    fn collect_slots(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
        let mut base = from & !7;
        let mut claimed = self.claimed(base) & (u64::MAX << (8 * (from - base)));
        let mut next = self.claimed(base + 8);
        self.prefetch_claimed(base + 8, next);
        while base < SERIES {
            let ahead = self.claimed(base + 16);
            self.prefetch_claimed(base + 16, ahead);
            for k in claimed.marked_bytes() {
                let index = base + k;
                let slot = &self.slots[index];
                if slot.state.load(Ordering::Acquire) & STATUS != READY {
                    continue;
                }
                // SAFETY: the state was loaded as READY with `Acquire` just above.
                let flow = unsafe {
                    slot.with_key(|key| {
                        let labels =
                            SeriesLabels::encoded(&self.names, EncodedValues::new(key, LABELS));
                        slot.metric
                            .read(&self.config, |value| sink(index, &labels, value))
                    })
                };
                if flow.is_break() {
                    return ControlFlow::Break(index);
                }
            }
            (claimed, next) = (next, ahead);
            base += 8;
        }
        ControlFlow::Continue(())
    }

    /// The hint bytes of slots `at .. at + 8` packed into a word (see [`gather_hints`]);
    /// bytes past the table's end are 0.
    #[inline(always)]
    fn hint_group(&self, at: usize) -> u64 {
        let group = self.hints.get(at..).unwrap_or_default();
        match group.get(..8).map(<&[AtomicU8; 8]>::try_from) {
            // Eight hints: the same gather over a fixed length, which unrolls.
            Some(Ok(eight)) => gather_hints(eight),
            _ => gather_hints(group),
        }
    }

    /// The high bit of each hint byte of slots `at .. at + 8` (none past the table's end)
    /// whose slot is claimed: WRITING or READY, as far as this thread sees.
    #[inline(always)]
    fn claimed(&self, at: usize) -> u64 {
        self.hint_group(at) & u64::splat(HINT_CLAIMED)
    }

    /// Prefetches the slots `claimed` marks in the group of eight from `at` (see
    /// [`claimed`](Self::claimed)).
    #[inline(always)]
    fn prefetch_claimed(&self, at: usize, claimed: u64) {
        for k in claimed.marked_bytes() {
            if let Some(slot) = self.slots.get(at + k) {
                prefetch(slot);
            }
        }
    }
}

impl<M: Metric, const LABELS: usize, const SERIES: usize, const KEY_BYTES: usize, S: BuildHasher>
    DynamicFamily<M, LABELS, SERIES, KEY_BYTES, S>
{
    /// The series for `values` (in the order of the label names), created on first use.
    ///
    /// If the series cannot exist — the table or the registry's series budget is full, or
    /// the values are too long — this returns the overflow series and counts the rejection.
    #[inline]
    pub fn with_labels(&self, values: [&str; LABELS]) -> M::Handle<'_> {
        match self.lookup(&values) {
            Ok(metric) => metric.handle(&self.config),
            Err(error) => self.rejected(error),
        }
    }

    /// The series for `values`, or why it cannot exist. Nothing is counted on error.
    ///
    /// # Errors
    ///
    /// A [`LabelError`] naming the limit that was hit.
    #[inline]
    pub fn try_with_labels(&self, values: [&str; LABELS]) -> Result<M::Handle<'_>, LabelError> {
        self.lookup(&values)
            .map(|metric| metric.handle(&self.config))
    }

    /// The series for `values`, like [`with_labels`](Self::with_labels), for values that
    /// live for the whole program: string literals, constants, leaked strings.
    ///
    /// The family remembers the first [`REMEMBERED`](crate::REMEMBERED) label sets looked up this way that
    /// have a series, by the addresses and lengths of their values (a `&'static str`
    /// never moves or changes, so the same address and length is the same string). A
    /// lookup of a remembered set compares a few words instead of hashing the values and
    /// comparing their bytes; one that is not remembered takes `with_labels`' path after
    /// searching the remembered sets. The same values at another address (a copy, or the
    /// same literal placed twice by the compiler) are another remembered set of the same
    /// series.
    ///
    /// ```
    /// use corral_core::{Counter, DynamicFamily};
    ///
    /// static REQUESTS: DynamicFamily<Counter, 2, 64> = DynamicFamily::new(["method", "status"]);
    ///
    /// for _ in 0..3 {
    ///     REQUESTS.with_static_labels(["GET", "200"]).inc();
    /// }
    /// assert_eq!(REQUESTS.with_labels(["GET", "200"]).get(), 3);
    /// ```
    #[inline]
    pub fn with_static_labels(&self, values: [&'static str; LABELS]) -> M::Handle<'_> {
        match self.static_lookup(&values) {
            Ok(metric) => metric.handle(&self.config),
            Err(error) => self.rejected(error),
        }
    }

    /// The series for `values` (see [`with_static_labels`](Self::with_static_labels)), or
    /// why it cannot exist. Nothing is counted on error.
    ///
    /// # Errors
    ///
    /// A [`LabelError`] naming the limit that was hit.
    #[inline]
    pub fn try_with_static_labels(
        &self,
        values: [&'static str; LABELS],
    ) -> Result<M::Handle<'_>, LabelError> {
        self.static_lookup(&values)
            .map(|metric| metric.handle(&self.config))
    }

    #[inline(always)]
    fn static_lookup(&self, values: &[&'static str; LABELS]) -> Result<&M, LabelError> {
        match self.remembered.recall(values) {
            // A remembered index is always a slot's (`slot_index`); the mask only spares
            // the bounds check.
            Some(slot) => Ok(&self.slots[slot & (SERIES - 1)].metric),
            None => self.lookup_and_remember(values),
        }
    }

    /// A lookup by content for values that are not remembered; remembers them when they
    /// have a series and an entry may be free.
    #[inline(never)]
    fn lookup_and_remember(&self, values: &[&'static str; LABELS]) -> Result<&M, LabelError> {
        let metric = self.lookup(values)?;
        if self.remembered.may_have_room()
            && let Some(slot) = self.slot_index(metric)
        {
            self.remembered.remember(values, slot);
        }
        Ok(metric)
    }

    /// The index of the slot whose metric `metric` is; `None` for any other metric.
    ///
    /// Only a remembrance needs the index, so the lookups return the metric and this
    /// derives the index from its address: lookups that returned the index instead ran
    /// more instructions on every path (`with_labels` in the peers' shape 145 → 161,
    /// a remembered lookup 66 → 83, callgrind).
    fn slot_index(&self, metric: &M) -> Option<usize> {
        let offset = core::ptr::from_ref(metric)
            .addr()
            .wrapping_sub(self.slots.as_ptr().addr());
        let index = offset / size_of::<CachePadded<Slot<M, KEY_BYTES>>>();
        (index < SERIES && core::ptr::eq(&self.slots[index].metric, metric)).then_some(index)
    }

    #[cold]
    fn rejected(&self, error: LabelError) -> M::Handle<'_> {
        self.tally.count(error.reason());
        self.overflow.handle(&self.config)
    }

    #[inline]
    fn hash(&self, values: &[&str; LABELS]) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        // No separator between values: a hasher's `write` mixes in each value's length
        // (foldhash and ahash both do), and two label sets that still hash alike are told
        // apart by the key comparison, so a collision costs a probe, never correctness.
        for value in values {
            hasher.write(value.as_bytes());
        }
        hasher.finish()
    }

    /// The fast path, inlined into callers: the series sits in its home slot.
    #[inline(always)]
    fn lookup(&self, values: &[&str; LABELS]) -> Result<&M, LabelError> {
        let hash = self.hash(values);
        let tag = ((hash >> 32) as u32) & !STATUS;
        let home = hash as usize & (SERIES - 1);
        let slot = &self.slots[home];
        let state = slot.state.load(Ordering::Acquire);
        if state == tag | READY
            // SAFETY: `state` was loaded with `Acquire` just above and is READY.
            && unsafe { slot.with_key(|key| encoded::matches(key, values)) }
        {
            return Ok(&slot.metric);
        }
        // In a sealed family, values whose presence bit is clear have no series and never
        // will: a flood of new values into a full family mostly ends here, after one
        // `len` load and one filter byte (see `present` for the ordering).
        let len = self.len.load(Ordering::Acquire);
        if len & SEALED != 0 && !self.may_be_present(tag) {
            return Err(self.sealed_reason(len));
        }
        // The search goes on past the home slot when it holds another series for good
        // (READY), at the home slot otherwise; chosen without a branch. Most keys that are
        // not at home are in the next slot, so the slot `at` is checked here too before the
        // full probe, through its hint first.
        let skip = usize::from(state & STATUS == READY);
        let at = (home + skip) & (SERIES - 1);
        if self.hints[at].load(Ordering::Relaxed) == tag_hint(tag) {
            let slot = &self.slots[at];
            let state = slot.state.load(Ordering::Acquire);
            if state == tag | READY
                // SAFETY: `state` was loaded with `Acquire` just above and is READY.
                && unsafe { slot.with_key(|key| encoded::matches(key, values)) }
            {
                return Ok(&slot.metric);
            }
        }
        self.probe(values, tag, at, skip)
    }

    /// The presence bit of keys whose state carries `tag`: its byte in `present` and the
    /// bit in it.
    #[inline(always)]
    const fn presence_bit(tag: u32) -> (usize, u8) {
        let bit = (tag >> PRESENCE_SHIFT) as usize & (SERIES.wrapping_mul(8) - 1);
        (bit / 8, 1 << (bit % 8))
    }

    /// Whether a key with `tag` may have a series: false only if no insert ever claimed a
    /// slot for a key whose presence bit is this one's.
    #[inline(always)]
    fn may_be_present(&self, tag: u32) -> bool {
        let (byte, bit) = Self::presence_bit(tag);
        self.present[byte].load(Ordering::Relaxed) & bit != 0
    }

    /// Everything else: probing past the home slot, waiting out a concurrent insert,
    /// inserting, and giving up. Kept out of line so the fast path stays small.
    ///
    /// The probe reads the hint bytes of up to eight slots at a time and finds, without a
    /// branch per slot, the ones that may be this key's (hint 0: EMPTY or not yet known;
    /// or a hint with this key's tag bits). Only those slots are read.
    #[inline(never)]
    fn probe(
        &self,
        values: &[&str; LABELS],
        tag: u32,
        start: usize,
        start_distance: usize,
    ) -> Result<&M, LabelError> {
        let wanted = u64::splat(tag_hint(tag));
        let mut index = start;
        let mut distance = start_distance;
        let mut farthest = self.max_probe.load(Ordering::Acquire);
        loop {
            // The hints of slots `index ..`, up to eight, not past the end of the table.
            let span = (SERIES - index).min(8);
            let word = self.hint_group(index);
            let empty = word.exact_zero_bytes();
            let mut candidates = empty | (word ^ wanted).zero_bytes();
            if span < 8 {
                // Only the span's own bytes.
                candidates &= (1 << (8 * span)) - 1;
            }
            for k in candidates.marked_bytes() {
                if empty & (0x80 << (8 * k)) != 0 {
                    let len = self.len.load(Ordering::Acquire);
                    // A sealed family: every insert that reserved a series stored its slot's
                    // hint before reserving, and the load that saw SEALED is ordered after
                    // all those reservations, so the hint read again after it, if still 0,
                    // is an EMPTY slot no series will ever take. (The hint gathered before
                    // that load may predate the claim of the insert that sealed the family.)
                    // The values have no series and never will: no need to read the slot
                    // or try to insert.
                    if len & SEALED != 0 && self.hints[index + k].load(Ordering::Relaxed) == 0 {
                        return Err(self.sealed_reason(len));
                    }
                }
                self.check_reach(distance + k, &mut farthest)?;
                if let Some(metric) = self.probe_slot(index + k, tag, values, distance + k)? {
                    return Ok(metric);
                }
            }
            // Every slot of the group is ruled out: go on after it, if the probe may.
            distance += span;
            self.check_reach(distance, &mut farthest)?;
            index = (index + span) & (SERIES - 1);
        }
    }

    /// Whether a probe may look at the slot `distance` from home; `Err` with the reason the
    /// values can have no series when it may not. `farthest` caches `max_probe`.
    #[inline(always)]
    fn check_reach(&self, distance: usize, farthest: &mut usize) -> Result<(), LabelError> {
        if distance >= SERIES {
            // Every slot of the table was looked at: all are taken.
            return Err(LabelError::FamilyFull {
                capacity: self.config_limits().1,
            });
        }
        if distance > MAX_PROBE {
            // No series is placed this far from home: the values have none. Say why they
            // cannot get one.
            self.check_insertable()?;
            return Err(LabelError::ProbeLimit { limit: MAX_PROBE });
        }
        if distance > *farthest {
            *farthest = self.max_probe.load(Ordering::Acquire);
            if distance > *farthest
                && let Err(error) = self.check_insertable()
            {
                // The family looks full. The insert that filled it raised `max_probe` before
                // reserving, and its reservation is now visible, so a second read sees how
                // far out that insert placed its key.
                *farthest = self.max_probe.load(Ordering::Acquire);
                if distance > *farthest {
                    // No key is this far from its home slot, and none can be inserted any
                    // more: the values have no series and never will. Stop here instead of
                    // scanning the rest of a full table.
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// Looks at slot `index`, `distance` from home: `Some` with the series of `values`
    /// if it is there or could be created there, `None` to go on probing.
    ///
    /// Out of line: the key comparison's set-up then costs only the probes that compare a
    /// key, not every probe (a lookup that ends in a sealed family's overflow compares none).
    #[inline(never)]
    fn probe_slot(
        &self,
        index: usize,
        tag: u32,
        values: &[&str; LABELS],
        distance: usize,
    ) -> Result<Option<&M>, LabelError> {
        let slot = &self.slots[index];
        let mut state = slot.state.load(Ordering::Acquire);
        loop {
            match state & STATUS {
                READY => {
                    if state & !STATUS == tag
                        // SAFETY: `state` is READY, loaded with `Acquire` (the first load
                        // above, `wait_ready`, or a failed claim, all `Acquire`).
                        && unsafe { slot.with_key(|key| encoded::matches(key, values)) }
                    {
                        return Ok(Some(&slot.metric));
                    }
                    return Ok(None);
                }
                WRITING => {
                    if state & !STATUS != tag {
                        return Ok(None);
                    }
                    state = slot.wait_ready()?;
                }
                EMPTY => match self.insert(index, tag, values, distance)? {
                    None => return Ok(Some(&slot.metric)),
                    // Another thread claimed the slot first: look at it again.
                    Some(actual) => state = actual,
                },
                // DEAD: claimed by an insert that could not reserve a series; never holds
                // a key.
                _ => return Ok(None),
            }
        }
    }

    /// Reserves one series in the family and, once it is registered, in the registry's
    /// budget; the reason if either is spent.
    fn reserve(&self) -> Result<(), LabelError> {
        let (_, mut cap, mut limits) = self.config_limits();
        // Registration may happen at any moment; `ATTACHED` in the reservation says which
        // side of it this insert is on. Seeing the flag also makes the registry's limits
        // visible (they were stored before the flag was set).
        let claimed = self
            .len
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                if word & ATTACHED != 0 && limits.is_none() {
                    (_, cap, limits) = self.config_limits();
                }
                (word & COUNT < cap).then_some(word + 1)
            });
        let Ok(before) = claimed else {
            return Err(LabelError::FamilyFull { capacity: cap });
        };
        let admitted = (before & COUNT) + 1;
        // Before registration the series is not budgeted here: registration counts it.
        if let Some(limits) = limits.filter(|_| before & ATTACHED != 0)
            && !limits.try_reserve(1)
        {
            // The flag was set when this reservation was made, so registration did not
            // count it: giving it back touches only the family's count.
            self.len.fetch_sub(1, Ordering::AcqRel);
            return Err(LabelError::SeriesBudgetExhausted {
                max: limits.config().max_total_series,
            });
        }
        if admitted == admitted_series(SERIES) {
            // The last series the table admits, kept: no configuration can make room again.
            // Release: a probe that sees the flag sees every claim's hint (each was stored
            // before its reservation, which this thread's `AcqRel` update read after).
            self.len.fetch_or(SEALED, Ordering::Release);
        }
        Ok(())
    }

    /// Why a sealed family (`len` read with [`SEALED`] set) admits no new series: it holds
    /// every series the table admits, or, when a reservation made just before the sealing
    /// one was given back for want of registry budget, that budget is spent for good.
    #[inline]
    fn sealed_reason(&self, len: usize) -> LabelError {
        let admitted = admitted_series(SERIES);
        if len & COUNT >= admitted {
            return LabelError::FamilyFull { capacity: admitted };
        }
        self.check_insertable()
            .err()
            .unwrap_or(LabelError::FamilyFull { capacity: admitted })
    }

    /// Whether a new series could still be created; the reason if not.
    #[cold]
    fn check_insertable(&self) -> Result<(), LabelError> {
        let (_, cap, limits) = self.config_limits();
        if self.len.load(Ordering::Acquire) & COUNT >= cap {
            return Err(LabelError::FamilyFull { capacity: cap });
        }
        if let Some(limits) = limits
            && limits.exhausted()
        {
            return Err(LabelError::SeriesBudgetExhausted {
                max: limits.config().max_total_series,
            });
        }
        Ok(())
    }

    /// Tries to create the series for `values` in the EMPTY slot `index`. `Ok(None)` means it now
    /// lives there; `Ok(Some(state))` that another thread claimed the slot first.
    #[cold]
    fn insert(
        &self,
        index: usize,
        tag: u32,
        values: &[&str; LABELS],
        distance: usize,
    ) -> Result<Option<u32>, LabelError> {
        let slot = &self.slots[index];
        // Cheap refusal first, so that a full family claims no slot it cannot keep, and a
        // flood into a full family costs no more than this check.
        if let Err(error) = self.check_insertable() {
            // Perhaps what filled the family was an insert into this very slot, claimed
            // since it was seen EMPTY (maybe for these same values). The claim comes before
            // the reservation just seen, so a second look at the slot sees it.
            let state = slot.state.load(Ordering::Acquire);
            if state & STATUS != EMPTY {
                return Ok(Some(state));
            }
            return Err(error);
        }
        let (max_len, _, _) = self.config_limits();
        for (value, label) in values.iter().zip(self.names) {
            if value.len() > max_len {
                return Err(LabelError::ValueTooLong {
                    label,
                    len: value.len(),
                    max: max_len,
                });
            }
        }
        match encoded::encoded_len(values) {
            Some(len) if len <= KEY_BYTES => {}
            len => {
                let len = len.unwrap_or(usize::MAX);
                return Err(LabelError::KeyTooLong {
                    len,
                    capacity: KEY_BYTES,
                });
            }
        }
        // Raise `max_probe` before the slot can be seen claimed, so that a lookup that sees
        // this insert's reservation (the table full) also sees how far from home it is.
        self.max_probe.fetch_max(distance, Ordering::AcqRel);
        // Claim the slot before reserving a series for it: a thread that loses the claim
        // has reserved nothing, so a race for one key never makes the family look full.
        if let Err(actual) =
            slot.state
                .compare_exchange(EMPTY, tag | WRITING, Ordering::Acquire, Ordering::Acquire)
        {
            return Ok(Some(actual));
        }
        // The hint and the presence bit go up before the reservation: a lookup that sees
        // the family sealed then sees them too (see `probe` and `present`). A probe that
        // reads the hint now finds the slot WRITING and waits for it like for any
        // concurrent insert of its tag.
        self.hints[index].store(tag_hint(tag), Ordering::Relaxed);
        let (byte, bit) = Self::presence_bit(tag);
        self.present[byte].fetch_or(bit, Ordering::Relaxed);
        if let Err(error) = self.reserve() {
            // The slot can never hold a series now (the family or the budget is spent):
            // retire it. It holds no key, so there is nothing to publish.
            slot.state.store(tag | DEAD, Ordering::Relaxed);
            self.hints[index].store(HINT_DEAD, Ordering::Relaxed);
            return Err(error);
        }

        slot.key.with_mut(|key| {
            // SAFETY: our CAS moved the slot from EMPTY to WRITING, so this thread is the
            // only one that may touch the key, and nobody reads it before READY.
            let key = unsafe { &mut *key };
            // Cannot fail: the length was checked against KEY_BYTES above.
            let _ = encoded::encode(values, key);
        });
        slot.state.store(tag | READY, Ordering::Release);
        Ok(None)
    }
}

impl<M: Metric<Config = ()>, const LABELS: usize, const SERIES: usize, const KEY_BYTES: usize>
    DynamicFamily<M, LABELS, SERIES, KEY_BYTES>
{
    const_fn! {
        /// A family with label `names` and the default hasher, whose seed is fixed and
        /// published.
        ///
        /// Fine for label values the program chooses itself (its own routes, enum-like
        /// strings). When values can come from outside (tenants, paths, headers), prefer
        /// [`seeded`](DynamicFamily::seeded), whose seed the program sets once at start-up,
        /// so that nobody can compute values that collide in the table.
        pub const fn new(names: [&'static str; LABELS]) -> Self {
            Self::with_hasher(names, (), FixedState::with_seed(DEFAULT_SEED))
        }
    }
}

impl<M: Metric<Config = ()>, const LABELS: usize, const SERIES: usize, const KEY_BYTES: usize>
    DynamicFamily<M, LABELS, SERIES, KEY_BYTES, GlobalSeed>
{
    const_fn! {
        /// A family with label `names` hashed with the process-wide seed set by
        /// [`set_hash_seed`](crate::set_hash_seed) (see [`GlobalSeed`]).
        pub const fn seeded(names: [&'static str; LABELS]) -> Self {
            Self::with_hasher(names, (), GlobalSeed)
        }
    }
}

impl<const LABELS: usize, const SERIES: usize, const KEY_BYTES: usize, const BUCKETS: usize>
    DynamicFamily<HistogramCells<BUCKETS>, LABELS, SERIES, KEY_BYTES>
{
    const_fn! {
        /// A histogram family with label `names` whose series share `bounds`.
        ///
        /// # Panics
        ///
        /// If the bounds are invalid (see [`Histogram::new`](crate::Histogram::new)); in a
        /// `static` that is a compile error.
        pub const fn histogram(names: [&'static str; LABELS], bounds: &'static [f64]) -> Self {
            if check_bounds(bounds, BUCKETS).is_err() {
                panic!("invalid histogram bounds: they must be finite, strictly increasing, and fewer than BUCKETS");
            }
            Self::with_hasher(names, bounds, FixedState::with_seed(DEFAULT_SEED))
        }
    }
}

impl<
    const LABELS: usize,
    const SERIES: usize,
    const KEY_BYTES: usize,
    const BUCKETS: usize,
    const WINDOW: usize,
    const SCALE: u32,
> DynamicFamily<SummaryCells<BUCKETS, WINDOW, SCALE>, LABELS, SERIES, KEY_BYTES>
{
    const_fn! {
        /// A summary family with label `names` whose series share `config`.
        ///
        /// # Panics
        ///
        /// If the configuration does not fit the cell type (see
        /// [`SummaryConfig::check`]); in a `static` that is a compile error.
        pub const fn summary(names: [&'static str; LABELS], config: SummaryConfig<SCALE>) -> Self {
            if let Err(e) = config.check::<BUCKETS, WINDOW>() {
                panic!("{}", e.message());
            }
            Self::with_hasher(names, config, FixedState::with_seed(DEFAULT_SEED))
        }
    }
}

impl<
    const LABELS: usize,
    const SERIES: usize,
    const KEY_BYTES: usize,
    const BUCKETS: usize,
    const CLASSIC: usize,
    const SCHEMA: i32,
> DynamicFamily<NativeHistogramCells<BUCKETS, CLASSIC, SCHEMA>, LABELS, SERIES, KEY_BYTES>
{
    const_fn! {
        /// A native-histogram family with label `names` whose series share `config`.
        ///
        /// # Panics
        ///
        /// If the classic bounds do not fit `CLASSIC` (see
        /// [`NativeHistogramConfig::check`]); in a `static` that is a compile error.
        pub const fn native(names: [&'static str; LABELS], config: NativeHistogramConfig<SCHEMA>) -> Self {
            if config.check::<CLASSIC>().is_err() {
                panic!("invalid classic bounds: they must be finite, strictly increasing, and fewer than CLASSIC");
            }
            Self::with_hasher(names, config, FixedState::with_seed(DEFAULT_SEED))
        }
    }
}

impl<M: Metric, const LABELS: usize, const SERIES: usize, const KEY_BYTES: usize, S>
    core::fmt::Debug for DynamicFamily<M, LABELS, SERIES, KEY_BYTES, S>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DynamicFamily")
            .field("names", &self.names)
            .field("series", &self.len())
            .field("capacity", &SERIES)
            .field("overflow", &self.tally.snapshot())
            .finish_non_exhaustive()
    }
}

impl<M: Metric, const LABELS: usize, const SERIES: usize, const KEY_BYTES: usize, S: Sync> Collect
    for DynamicFamily<M, LABELS, SERIES, KEY_BYTES, S>
{
    fn kind(&self) -> MetricKind {
        M::KIND
    }

    fn label_names(&self) -> &[&'static str] {
        &self.names
    }

    fn reserved_series(&self) -> usize {
        0
    }

    fn capacity(&self) -> usize {
        admitted_series(SERIES)
    }

    fn check(&self, config: &RegistryConfig) -> Result<(), Reason> {
        M::check_config(&self.config).map_err(Reason::InvalidBuckets)?;
        // A table may be up to twice the smallest one that admits the series limit (and
        // always up to 32 slots), so that a few table sizes cover any limit; larger ones
        // would only hold empty slots.
        let max = config.max_series_per_metric;
        if SERIES > MAX_SLOTS_PER_LIMIT * slots_for(max).max(16) {
            return Err(Reason::TooManySeries {
                capacity: admitted_series(SERIES),
                max,
            });
        }
        Ok(())
    }

    fn attach(&self, limits: &'static Limits) -> Result<(), Reason> {
        let pointer = core::ptr::from_ref(limits).cast_mut();
        self.limits
            .compare_exchange(
                core::ptr::null_mut(),
                pointer,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map_err(|_| Reason::AlreadyRegistered)?;
        // Series created before registration exist already: count them now, even past the
        // budget (which then admits no new series). Every later reservation sees the flag
        // and budgets itself, so each series is counted exactly once.
        let before = self.len.fetch_or(ATTACHED, Ordering::AcqRel);
        limits.add(before & COUNT);
        Ok(())
    }

    fn overflow_counts(&self) -> OverflowCounts {
        self.tally.snapshot()
    }

    /// [`Prefetch::Far`]: the fields `collect` reads first and the hint bytes (the lines
    /// of up to 512 slots' hints), with no loads. [`Prefetch::Near`]: the hints of the
    /// first 16 slots (fetched by `Far`) and the claimed slots among them, as the walk in
    /// `collect` does for the groups ahead of the one it reads.
    fn prefetch(&self, stage: Prefetch) {
        // Where nothing is prefetched (and the registry never asks), this compiles to
        // nothing: the hint loads would be for nothing.
        if !PREFETCHES {
            return;
        }
        match stage {
            Prefetch::Far => {
                prefetch(&self.names);
                prefetch(&self.tally);
                for hint in self.hints.iter().step_by(64).take(8) {
                    prefetch(hint);
                }
            }
            Prefetch::Near => {
                self.prefetch_claimed(0, self.claimed(0));
                self.prefetch_claimed(8, self.claimed(8));
            }
        }
    }

    fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
        if from < SERIES {
            self.collect_slots(from, sink)?;
        }
        if from <= SERIES
            && self.tally.any()
            && self
                .overflow
                .read(&self.config, |v| sink(SERIES, &SeriesLabels::OVERFLOW, v))
                .is_break()
        {
            return ControlFlow::Break(SERIES);
        }
        ControlFlow::Continue(())
    }
}
