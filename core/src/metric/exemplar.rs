//! Exemplars: one trace reference per counter or histogram bucket, in fixed slots.
//!
//! An exemplar slot is a sequence lock whose data are atomics, so it needs no `unsafe`
//! and no reader can ever see a torn exemplar:
//!
//! ```text
//! writer:  CAS seq even s -> s+1 (Acquire)   -- fails: another writer is in: drop ours
//!          store every data word (Release)
//!          store seq s+2 (Release)
//! reader:  s1 = load seq (Acquire); odd or 0 -> retry / none
//!          load every data word (Acquire) into a local copy
//!          s2 = load seq (Relaxed); s1 == s2 -> the copy is one writer's exemplar
//! ```
//!
//! Why `s1 == s2` proves the copy whole: a data load that returns a word of a later writer
//! reads a `Release` store made after that writer's CAS, so it synchronises with it and
//! the reader's later `s2` load must see that CAS or something newer (`s2 != s1`). The
//! `Acquire` loads also keep `s2` from being read before them. A reader that read `s1`
//! from a completed write's `Release` store sees all of that writer's words, or newer ones
//! (which the check then catches). The sequence is 64 bits, so it cannot wrap around
//! during a read.
//!
//! Recording never waits: a writer that finds the slot busy drops its exemplar and says
//! so ([`ExemplarError::Busy`]); the increment or observation itself is always recorded.
//! A reader that keeps meeting writers gives up after a few tries and reports no exemplar
//! for that scrape.

use core::fmt;
use core::ops::ControlFlow;

use crate::collect::{Collect, SeriesSink};
use crate::error::BoundsError;
use crate::macros::{const_fn, fresh_array};
use crate::metric::histogram::bucket_index;
use crate::metric::{Counter, Metric, MetricKind, add_f64, check_bounds};
use crate::names::is_valid_label_name;
use crate::sync::{AtomicU64, Ordering, spin_loop};
use crate::value::{ExemplarSlots, ExemplarValue, HistogramValue, SeriesLabels, Value};

/// The most UTF-8 code points an exemplar's label names and values may have together
/// (OpenMetrics 1.0).
pub const EXEMPLAR_MAX_RUNES: usize = 128;

/// 64-bit words of label storage in each exemplar slot.
const WORDS: usize = 24;

/// Bytes of label storage in each exemplar slot: the label strings plus a two-byte length
/// for each. Any ASCII label set within [`EXEMPLAR_MAX_RUNES`] of up to 16 pairs fits.
pub const EXEMPLAR_LABEL_BYTES: usize = WORDS * 8;

/// How many times a reader retries a slot that writers keep changing.
#[cfg(not(corral_loom))]
const READ_TRIES: u32 = 64;
#[cfg(corral_loom)]
const READ_TRIES: u32 = 2;

/// An exemplar to record: labels (usually `trace_id` and `span_id`) and an optional
/// timestamp. The value is the increment or observation it is recorded with.
///
/// ```
/// use corral_core::Exemplar;
///
/// let exemplar = Exemplar::new(&[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"), ("span_id", "00f067aa0ba902b7")])
///     .with_timestamp_unix_nanos(1_700_000_000_250_000_000);
/// assert_eq!(exemplar.labels().len(), 2);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Exemplar<'a> {
    labels: &'a [(&'a str, &'a str)],
    timestamp: Option<u64>,
}

impl<'a> Exemplar<'a> {
    /// An exemplar with these `(name, value)` labels and no timestamp.
    pub const fn new(labels: &'a [(&'a str, &'a str)]) -> Self {
        Self {
            labels,
            timestamp: None,
        }
    }

    /// Sets when it was recorded, in nanoseconds since the Unix epoch.
    #[must_use]
    pub const fn with_timestamp_unix_nanos(mut self, unix_nanos: u64) -> Self {
        self.timestamp = Some(unix_nanos);
        self
    }

    /// The labels.
    pub const fn labels(&self) -> &'a [(&'a str, &'a str)] {
        self.labels
    }

    /// Checks the labels: `(bytes their encoding takes, pairs)`. They are encoded as a
    /// dynamic series stores its label values (names and values alternating), straight
    /// into the slot's words when stored, without a copy on the stack.
    fn check(&self) -> Result<(usize, usize), ExemplarError> {
        let mut runes = 0;
        for (i, (name, value)) in self.labels.iter().enumerate() {
            if !is_valid_label_name(name) {
                return Err(ExemplarError::InvalidLabelName);
            }
            if self.labels[..i].iter().any(|(other, _)| other == name) {
                return Err(ExemplarError::DuplicateLabelName);
            }
            runes += name.chars().count() + value.chars().count();
        }
        if runes > EXEMPLAR_MAX_RUNES {
            return Err(ExemplarError::TooLong { runes });
        }
        // `encoded`'s layout: a `u16` length per string, then the strings.
        let mut bytes = 0usize;
        for (name, value) in self.labels {
            if u16::try_from(name.len().max(value.len())).is_err() {
                bytes = usize::MAX;
                break;
            }
            bytes += 4 + name.len() + value.len();
        }
        if bytes > EXEMPLAR_LABEL_BYTES {
            return Err(ExemplarError::NoRoom { bytes });
        }
        Ok((bytes, self.labels.len()))
    }
}

/// Why an exemplar was not stored. The increment or observation it came with was recorded
/// all the same, unless it was NaN ([`ExemplarError::NanValue`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExemplarError {
    /// Label names and values have more than [`EXEMPLAR_MAX_RUNES`] code points together.
    TooLong {
        /// Code points in the label names and values.
        runes: usize,
    },
    /// The encoded labels need more than [`EXEMPLAR_LABEL_BYTES`] bytes (possible only
    /// with many pairs or non-ASCII text).
    NoRoom {
        /// Bytes the labels need.
        bytes: usize,
    },
    /// A label name does not match `[a-zA-Z_][a-zA-Z0-9_]*`.
    InvalidLabelName,
    /// A label name appears twice.
    DuplicateLabelName,
    /// Another thread was storing an exemplar in the same slot at that instant; the slot
    /// keeps that one.
    Busy,
    /// The observed value was NaN, which every metric type ignores: neither it nor its
    /// exemplar was recorded.
    NanValue,
}

impl fmt::Display for ExemplarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == ExemplarError::NanValue {
            return f.write_str("a NaN observation is ignored, and its exemplar with it");
        }
        f.write_str("exemplar not stored (the value itself was recorded): ")?;
        match *self {
            ExemplarError::NanValue => Ok(()),
            ExemplarError::TooLong { runes } => write!(
                f,
                "its labels have {runes} code points, more than the {EXEMPLAR_MAX_RUNES} OpenMetrics allows"
            ),
            ExemplarError::NoRoom { bytes } => write!(
                f,
                "its labels need {bytes} bytes, more than the {EXEMPLAR_LABEL_BYTES} an exemplar slot holds"
            ),
            ExemplarError::InvalidLabelName => {
                f.write_str("a label name does not match [a-zA-Z_][a-zA-Z0-9_]*")
            }
            ExemplarError::DuplicateLabelName => f.write_str("a label name appears twice"),
            ExemplarError::Busy => {
                f.write_str("another thread was storing an exemplar in the same slot")
            }
        }
    }
}

impl core::error::Error for ExemplarError {}

const HAS_TIMESTAMP: u64 = 1 << 32;

/// One exemplar's storage: a sequence word and atomic data words (see the module docs).
#[derive(Debug)]
pub(crate) struct ExemplarSlot {
    /// Even: stable (0: never written); odd: a writer is in.
    seq: AtomicU64,
    value: AtomicU64,
    timestamp: AtomicU64,
    /// Bits 0..16: label bytes; 16..24: label pairs; bit 32: has a timestamp.
    meta: AtomicU64,
    words: [AtomicU64; WORDS],
}

impl<const BUCKETS: usize> ExemplarSlots for [ExemplarSlot; BUCKETS] {
    fn has_any(&self) -> bool {
        self.iter()
            .any(|slot| slot.seq.load(Ordering::Acquire) != 0)
    }

    fn read(&self, index: usize, f: &mut dyn FnMut(Option<&ExemplarValue<'_>>)) {
        match self.get(index) {
            Some(slot) => slot.read(f),
            None => f(None),
        }
    }
}

/// Packs bytes into a slot's words, little-endian, eight to a word.
struct Packer<'s> {
    words: core::slice::Iter<'s, AtomicU64>,
    word: u64,
    filled: u32,
}

impl Packer<'_> {
    #[inline]
    fn push(&mut self, byte: u8) {
        self.word |= u64::from(byte) << (8 * self.filled);
        self.filled += 1;
        if self.filled == 8 {
            self.finish();
        }
    }

    /// Stores the word being filled, if any bytes are in it.
    #[inline]
    fn finish(&mut self) {
        if self.filled > 0
            && let Some(slot) = self.words.next()
        {
            slot.store(self.word, Ordering::Release);
        }
        (self.word, self.filled) = (0, 0);
    }
}

/// A reader's copy of a slot (the tests' view; encoders read through
/// [`ExemplarSlot::read`], which copies into its own frame).
#[cfg(test)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct ExemplarCopy {
    bytes: [u8; EXEMPLAR_LABEL_BYTES],
    len: usize,
    pairs: usize,
    value: f64,
    timestamp: Option<u64>,
}

#[cfg(test)]
impl ExemplarCopy {
    /// The exemplar, borrowing this copy.
    pub(crate) fn value(&self) -> ExemplarValue<'_> {
        ExemplarValue::encoded(
            &self.bytes[..self.len],
            self.pairs,
            self.value,
            self.timestamp,
        )
    }
}

impl ExemplarSlot {
    const_fn! {
        pub(crate) const fn new() -> Self {
            Self {
                seq: AtomicU64::new(0),
                value: AtomicU64::new(0),
                timestamp: AtomicU64::new(0),
                meta: AtomicU64::new(0),
                words: fresh_array!(AtomicU64::new(0); WORDS),
            }
        }
    }

    /// Stores `exemplar` with `value`, unless another writer holds the slot.
    pub(crate) fn store(&self, exemplar: &Exemplar<'_>, value: f64) -> Result<(), ExemplarError> {
        let (len, pairs) = exemplar.check()?;
        let seq = self.seq.load(Ordering::Relaxed);
        if seq & 1 == 1
            || self
                .seq
                .compare_exchange(
                    seq,
                    seq.wrapping_add(1),
                    Ordering::Acquire,
                    Ordering::Relaxed,
                )
                .is_err()
        {
            return Err(ExemplarError::Busy);
        }
        self.value.store(value.to_bits(), Ordering::Release);
        self.timestamp
            .store(exemplar.timestamp.unwrap_or(0), Ordering::Release);
        let flag = if exemplar.timestamp.is_some() {
            HAS_TIMESTAMP
        } else {
            0
        };
        self.meta.store(
            len as u64 | ((pairs as u64) << 16) | flag,
            Ordering::Release,
        );
        // The encoded labels (`encoded`'s layout: a `u16` length per string, then the
        // strings), eight bytes to a word, with no copy on the stack: `check` found the
        // `len` bytes to fit the words.
        let mut packer = Packer {
            words: self.words.iter(),
            word: 0,
            filled: 0,
        };
        for (name, value) in exemplar.labels {
            for len in [name.len(), value.len()] {
                packer.push(len as u8);
                packer.push((len >> 8) as u8);
            }
        }
        for (name, value) in exemplar.labels {
            for string in [name, value] {
                for &byte in string.as_bytes() {
                    packer.push(byte);
                }
            }
        }
        packer.finish();
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
        Ok(())
    }

    /// A consistent copy of the stored exemplar; `None` if there is none, or writers kept
    /// changing it for every try.
    #[cfg(test)]
    pub(crate) fn load(&self) -> Option<ExemplarCopy> {
        let mut bytes = [0u8; EXEMPLAR_LABEL_BYTES];
        let (len, pairs, value, timestamp) = self.read_into(&mut bytes)?;
        Some(ExemplarCopy {
            bytes,
            len,
            pairs,
            value,
            timestamp,
        })
    }

    /// Calls `f` with a consistent read of the stored exemplar (`None` if there is none,
    /// or writers kept changing it for every try), copied once, into this frame.
    #[inline]
    pub(crate) fn read<R>(&self, f: impl FnOnce(Option<&ExemplarValue<'_>>) -> R) -> R {
        let mut bytes = [0u8; EXEMPLAR_LABEL_BYTES];
        match self.read_into(&mut bytes) {
            Some((len, pairs, value, timestamp)) => f(Some(&ExemplarValue::encoded(
                &bytes[..len],
                pairs,
                value,
                timestamp,
            ))),
            None => f(None),
        }
    }

    /// The sequence-lock read into `bytes`: `(label bytes, pairs, value, timestamp)`.
    fn read_into(
        &self,
        bytes: &mut [u8; EXEMPLAR_LABEL_BYTES],
    ) -> Option<(usize, usize, f64, Option<u64>)> {
        for _ in 0..READ_TRIES {
            let before = self.seq.load(Ordering::Acquire);
            if before == 0 {
                return None;
            }
            if before & 1 == 1 {
                spin_loop();
                continue;
            }
            let value = f64::from_bits(self.value.load(Ordering::Acquire));
            let timestamp = self.timestamp.load(Ordering::Acquire);
            let meta = self.meta.load(Ordering::Acquire);
            let len = ((meta & 0xffff) as usize).min(EXEMPLAR_LABEL_BYTES);
            for (word, chunk) in self.words.iter().zip(bytes[..len].chunks_mut(8)) {
                let le = word.load(Ordering::Acquire).to_le_bytes();
                chunk.copy_from_slice(&le[..chunk.len()]);
            }
            if self.seq.load(Ordering::Relaxed) == before {
                let pairs = ((meta >> 16) & 0xff) as usize;
                let timestamp = (meta & HAS_TIMESTAMP != 0).then_some(timestamp);
                return Some((len, pairs, value, timestamp));
            }
            spin_loop();
        }
        None
    }
}

/// A monotonic `u64` counter that also keeps the exemplar last recorded with an increment.
/// OpenMetrics renders it after the `_total` sample; the Prometheus text format has no
/// place for exemplars and renders the plain counter.
///
/// ```
/// use corral_core::{CounterWithExemplar, Exemplar};
///
/// static REQUESTS: CounterWithExemplar = CounterWithExemplar::new();
/// REQUESTS.inc();
/// REQUESTS
///     .inc_by_with_exemplar(2, &Exemplar::new(&[("trace_id", "4bf92f3577b34da6")]))
///     .unwrap();
/// assert_eq!(REQUESTS.get(), 3);
/// ```
#[derive(Debug)]
pub struct CounterWithExemplar {
    counter: Counter,
    exemplar: ExemplarSlot,
}

impl CounterWithExemplar {
    const_fn! {
        /// A counter at zero, without an exemplar.
        pub const fn new() -> Self {
            Self { counter: Counter::new(), exemplar: ExemplarSlot::new() }
        }
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.counter.inc();
    }

    /// Adds `delta`.
    #[inline]
    pub fn inc_by(&self, delta: u64) {
        self.counter.inc_by(delta);
    }

    /// Adds `delta` and keeps `exemplar` (with `delta` as its value) in place of the
    /// previous one.
    ///
    /// # Errors
    ///
    /// Why the exemplar was not stored; `delta` is added in every case.
    pub fn inc_by_with_exemplar(
        &self,
        delta: u64,
        exemplar: &Exemplar<'_>,
    ) -> Result<(), ExemplarError> {
        self.counter.inc_by(delta);
        self.exemplar.store(exemplar, delta as f64)
    }

    /// The current total.
    #[inline]
    pub fn get(&self) -> u64 {
        self.counter.get()
    }
}

impl Default for CounterWithExemplar {
    fn default() -> Self {
        Self::new()
    }
}

impl Metric for CounterWithExemplar {
    type Config = ();
    type Handle<'a> = &'a CounterWithExemplar;
    const KIND: MetricKind = MetricKind::Counter;

    #[cfg(not(corral_loom))]
    const INIT: Self = Self::new();

    #[cfg(corral_loom)]
    fn init() -> Self {
        Self::new()
    }

    #[inline]
    fn handle<'a>(&'a self, _: &'a ()) -> &'a CounterWithExemplar {
        self
    }

    fn read<R>(&self, _: &(), f: impl FnOnce(&Value<'_>) -> R) -> R {
        let total = self.get();
        self.exemplar.read(|exemplar| match exemplar {
            Some(exemplar) => f(&Value::CounterWithExemplar(total, *exemplar)),
            None => f(&Value::Counter(total)),
        })
    }
}

/// The per-series state of a histogram with exemplars: buckets, sum, and one exemplar
/// slot per bucket (each 224 bytes).
#[derive(Debug)]
pub struct HistogramExemplarCells<const BUCKETS: usize> {
    counts: [AtomicU64; BUCKETS],
    sum: AtomicU64,
    exemplars: [ExemplarSlot; BUCKETS],
}

impl<const BUCKETS: usize> HistogramExemplarCells<BUCKETS> {
    const_fn! {
        /// Zeroed cells without exemplars.
        pub const fn new() -> Self {
            const { assert!(BUCKETS >= 1, "a histogram needs at least the +Inf bucket") };
            Self {
                counts: fresh_array!(AtomicU64::new(0); BUCKETS),
                sum: AtomicU64::new(0),
                exemplars: fresh_array!(ExemplarSlot::new(); BUCKETS),
            }
        }
    }

    /// Records `value` against `bounds` (the bounds these cells were set up with).
    #[inline]
    pub fn observe(&self, bounds: &[f64], value: f64) {
        if value.is_nan() {
            return;
        }
        let index = bucket_index(bounds, value).min(BUCKETS - 1);
        // Sum first, then the bucket with `Release`, as in `HistogramCells::observe`.
        add_f64(&self.sum, value);
        self.counts[index].fetch_add(1, Ordering::Release);
    }

    /// Records `value` and keeps `exemplar` as the exemplar of the bucket it lands in.
    ///
    /// # Errors
    ///
    /// Why the exemplar was not stored; the observation is recorded in every case.
    pub fn observe_with_exemplar(
        &self,
        bounds: &[f64],
        value: f64,
        exemplar: &Exemplar<'_>,
    ) -> Result<(), ExemplarError> {
        if value.is_nan() {
            return Err(ExemplarError::NanValue);
        }
        let index = bucket_index(bounds, value).min(BUCKETS - 1);
        add_f64(&self.sum, value);
        self.counts[index].fetch_add(1, Ordering::Release);
        self.exemplars[index].store(exemplar, value)
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Acquire))
            .fold(0, u64::wrapping_add)
    }

    /// Sum of the observed values.
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum.load(Ordering::Relaxed))
    }

    fn read_with<R>(&self, bounds: &[f64], f: impl FnOnce(&Value<'_>) -> R) -> R {
        let mut counts = [0u64; BUCKETS];
        for (out, cell) in counts.iter_mut().zip(&self.counts) {
            *out = cell.load(Ordering::Acquire);
        }
        let used = (bounds.len() + 1).min(BUCKETS);
        let bounds = &bounds[..used - 1];
        let value = HistogramValue::new(bounds, &counts[..used], self.sum())
            .with_exemplar_slots(&self.exemplars);
        f(&Value::Histogram(value))
    }
}

impl<const BUCKETS: usize> Default for HistogramExemplarCells<BUCKETS> {
    fn default() -> Self {
        Self::new()
    }
}

/// A histogram series with exemplars handed out by a labelled family.
#[derive(Clone, Copy, Debug)]
pub struct HistogramExemplarRef<'a, const BUCKETS: usize> {
    bounds: &'a [f64],
    cells: &'a HistogramExemplarCells<BUCKETS>,
}

impl<const BUCKETS: usize> HistogramExemplarRef<'_, BUCKETS> {
    /// Records one observation.
    #[inline]
    pub fn observe(self, value: f64) {
        self.cells.observe(self.bounds, value);
    }

    /// Records one observation with an exemplar for its bucket.
    ///
    /// # Errors
    ///
    /// Why the exemplar was not stored; the observation is recorded in every case.
    pub fn observe_with_exemplar(
        self,
        value: f64,
        exemplar: &Exemplar<'_>,
    ) -> Result<(), ExemplarError> {
        self.cells
            .observe_with_exemplar(self.bounds, value, exemplar)
    }

    /// Observations so far.
    pub fn count(self) -> u64 {
        self.cells.count()
    }

    /// Sum of the observed values.
    pub fn sum(self) -> f64 {
        self.cells.sum()
    }
}

impl<const BUCKETS: usize> Metric for HistogramExemplarCells<BUCKETS> {
    type Config = &'static [f64];
    type Handle<'a> = HistogramExemplarRef<'a, BUCKETS>;
    const KIND: MetricKind = MetricKind::Histogram;

    #[cfg(not(corral_loom))]
    const INIT: Self = Self::new();

    #[cfg(corral_loom)]
    fn init() -> Self {
        Self::new()
    }

    #[inline]
    fn handle<'a>(&'a self, bounds: &'a &'static [f64]) -> HistogramExemplarRef<'a, BUCKETS> {
        HistogramExemplarRef {
            bounds,
            cells: self,
        }
    }

    fn read<R>(&self, bounds: &&'static [f64], f: impl FnOnce(&Value<'_>) -> R) -> R {
        self.read_with(bounds, f)
    }

    fn check_config(bounds: &&'static [f64]) -> Result<(), BoundsError> {
        check_bounds(bounds, BUCKETS)
    }
}

/// A histogram whose buckets each keep the exemplar last recorded in them.
///
/// ```
/// use corral_core::{Exemplar, HistogramWithExemplars, buckets};
///
/// static LATENCY: HistogramWithExemplars<14> = HistogramWithExemplars::new(buckets::LATENCY_MS);
/// LATENCY.observe(3.0);
/// LATENCY
///     .observe_with_exemplar(0.67, &Exemplar::new(&[("trace_id", "KOO5S4vxi0o")]))
///     .unwrap();
/// assert_eq!(LATENCY.count(), 2);
/// ```
#[derive(Debug)]
pub struct HistogramWithExemplars<const BUCKETS: usize> {
    bounds: &'static [f64],
    cells: HistogramExemplarCells<BUCKETS>,
}

impl<const BUCKETS: usize> HistogramWithExemplars<BUCKETS> {
    const_fn! {
        /// A histogram over `bounds`: finite and strictly increasing, at most `BUCKETS - 1`.
        ///
        /// # Panics
        ///
        /// If the bounds are invalid; in a `static` that is a compile error.
        pub const fn new(bounds: &'static [f64]) -> Self {
            match check_bounds(bounds, BUCKETS) {
                Ok(()) => Self { bounds, cells: HistogramExemplarCells::new() },
                Err(_) => panic!("invalid histogram bounds: they must be finite, strictly increasing, and fewer than BUCKETS"),
            }
        }
    }

    /// Records one observation.
    #[inline]
    pub fn observe(&self, value: f64) {
        self.cells.observe(self.bounds, value);
    }

    /// Records one observation and keeps `exemplar` for the bucket it lands in.
    ///
    /// # Errors
    ///
    /// Why the exemplar was not stored; the observation is recorded in every case.
    pub fn observe_with_exemplar(
        &self,
        value: f64,
        exemplar: &Exemplar<'_>,
    ) -> Result<(), ExemplarError> {
        self.cells
            .observe_with_exemplar(self.bounds, value, exemplar)
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.cells.count()
    }

    /// Sum of the observed values.
    pub fn sum(&self) -> f64 {
        self.cells.sum()
    }

    /// The finite bucket bounds.
    pub fn bounds(&self) -> &'static [f64] {
        self.bounds
    }
}

fn collect_one(from: usize, sink: &mut SeriesSink<'_>, value: &Value<'_>) -> ControlFlow<usize> {
    if from == 0 && sink(0, &SeriesLabels::NONE, value).is_break() {
        return ControlFlow::Break(0);
    }
    ControlFlow::Continue(())
}

impl Collect for CounterWithExemplar {
    fn kind(&self) -> MetricKind {
        MetricKind::Counter
    }

    fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
        Metric::read(self, &(), |value| collect_one(from, sink, value))
    }
}

impl<const BUCKETS: usize> Collect for HistogramWithExemplars<BUCKETS> {
    fn kind(&self) -> MetricKind {
        MetricKind::Histogram
    }

    fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
        self.cells
            .read_with(self.bounds, |value| collect_one(from, sink, value))
    }
}

#[cfg(all(test, not(corral_loom)))]
mod tests {
    use super::*;

    #[test]
    fn stores_and_reads_back() {
        let slot = ExemplarSlot::new();
        assert!(slot.load().is_none());
        let ex = Exemplar::new(&[("trace_id", "abc"), ("span_id", "dé\"f")])
            .with_timestamp_unix_nanos(7);
        slot.store(&ex, 2.5).unwrap();
        let copy = slot.load().unwrap();
        let value = copy.value();
        let labels: std::vec::Vec<_> = value.labels().collect();
        assert_eq!(labels, [("trace_id", "abc"), ("span_id", "dé\"f")]);
        assert_eq!(value.value(), 2.5);
        assert_eq!(value.timestamp_unix_nanos(), Some(7));
        slot.store(&Exemplar::new(&[]), 1.0).unwrap();
        let copy = slot.load().unwrap();
        assert_eq!(copy.value().labels().count(), 0);
        assert_eq!(copy.value().timestamp_unix_nanos(), None);
    }

    #[test]
    fn enforces_the_rune_limit_and_names() {
        let slot = ExemplarSlot::new();
        // 8 + 120 = 128 runes: allowed.
        let v120 = "a".repeat(120);
        slot.store(&Exemplar::new(&[("trace_id", &v120)]), 1.0)
            .unwrap();
        let v121 = "a".repeat(121);
        assert_eq!(
            slot.store(&Exemplar::new(&[("trace_id", &v121)]), 1.0),
            Err(ExemplarError::TooLong { runes: 129 })
        );
        // Runes, not bytes: 8 + 120 two-byte characters is within the limit but needs 250
        // bytes of storage.
        let wide = "é".repeat(120);
        assert_eq!(
            slot.store(&Exemplar::new(&[("trace_id", &wide)]), 1.0),
            Err(ExemplarError::NoRoom {
                bytes: 2 + 8 + 2 + 240
            })
        );
        assert_eq!(
            slot.store(&Exemplar::new(&[("trace id", "x")]), 1.0),
            Err(ExemplarError::InvalidLabelName)
        );
        assert_eq!(
            slot.store(&Exemplar::new(&[("a", "x"), ("a", "y")]), 1.0),
            Err(ExemplarError::DuplicateLabelName)
        );
        // The first stored exemplar is still there.
        assert_eq!(
            slot.load().unwrap().value().labels().next().unwrap().1,
            v120
        );
    }

    #[test]
    fn readers_never_see_a_torn_exemplar() {
        static SLOT: ExemplarSlot = ExemplarSlot::new();
        let values: [std::string::String; 2] = ["x".repeat(100), "y".repeat(60)];
        std::thread::scope(|s| {
            for t in 0..2 {
                let values = &values;
                s.spawn(move || {
                    // Fewer under miri, which interprets every instruction.
                    for i in 0..if cfg!(miri) { 100 } else { 20_000u64 } {
                        let v = &values[((i + t) % 2) as usize];
                        let labels = [("trace_id", v.as_str())];
                        let _ = SLOT.store(&Exemplar::new(&labels), v.len() as f64);
                    }
                });
            }
            s.spawn(|| {
                // At least the given number of reads, and on until one found an exemplar:
                // this thread may run before either writer has stored one, but once one has,
                // the slot is never empty again.
                let reads = if cfg!(miri) { 300 } else { 20_000 };
                let (mut read, mut seen) = (0, 0);
                while read < reads || seen == 0 {
                    if let Some(copy) = SLOT.load() {
                        let value = copy.value();
                        let (_, label) = value.labels().next().unwrap();
                        assert!(label == values[0] || label == values[1]);
                        assert_eq!(value.value(), label.len() as f64);
                        seen += 1;
                    }
                    read += 1;
                    core::hint::spin_loop();
                }
            });
        });
    }
}
