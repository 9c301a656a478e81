//! The raw baselines: not libraries, just the least work a recording can be.
//!
//! - `raw-atomic`: a bare `AtomicU64::fetch_add(1, Relaxed)`; labelled, a hand-written
//!   `match` on the label strings into cache-padded atomics; a histogram, a linear bucket
//!   search plus a `fetch_add` and a compare-and-swap on the sum. No registry, so nothing
//!   to render.
//! - `raw-cell`: the same in thread-local, non-atomic `Cell`s, never shared between
//!   threads: the ceiling of what no sharing at all gives. Each `raw-cell` operation ends
//!   in a compiler fence (no instruction), so that a loop of them stays one load, add and
//!   store per operation instead of being folded into one addition.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering, compiler_fence};

use corral_core::CachePadded;
use corral_core::buckets::LATENCY_MS;

use crate::{LATENCY_BUCKETS, WORKERS};

/// The raw-atomic labelled baseline: not a library, a hand-written `match` on the two
/// strings into a static array of cache-padded atomics. No registry, no rendering.
#[derive(Debug)]
pub struct RawLabelled {
    cells: [CachePadded<AtomicU64>; 12],
}

impl RawLabelled {
    /// All cells at zero.
    pub const fn new() -> Self {
        Self {
            cells: [const { CachePadded::new(AtomicU64::new(0)) }; 12],
        }
    }

    /// Resolves `(method, status)` by hand and increments its cell.
    #[inline]
    pub fn inc(&self, method: &str, status: &str) {
        if let Some(i) = combination_index(method, status) {
            self.cells[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The total over all cells.
    pub fn total(&self) -> u64 {
        self.cells.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

impl Default for RawLabelled {
    fn default() -> Self {
        Self::new()
    }
}

/// Index of `(method, status)` among the 12 bench combinations, by hand.
#[inline(always)]
fn combination_index(method: &str, status: &str) -> Option<usize> {
    let m = match method {
        "GET" => 0,
        "POST" => 1,
        "PUT" => 2,
        _ => return None,
    };
    let s = match status {
        "200" => 0,
        "404" => 1,
        "500" => 2,
        "503" => 3,
        _ => return None,
    };
    Some(m * 4 + s)
}

/// Index of a [`WORKERS`] value (`"w00"` to `"w63"`), parsed by hand.
#[inline(always)]
pub fn worker_index(worker: &str) -> Option<usize> {
    match worker.as_bytes() {
        [b'w', tens @ b'0'..=b'9', ones @ b'0'..=b'9'] => {
            let index = usize::from(tens - b'0') * 10 + usize::from(ones - b'0');
            (index < WORKERS.len()).then_some(index)
        }
        _ => None,
    }
}

/// The raw-atomic per-thread labelled baseline of the contention bench: `("GET", worker)`
/// resolved by hand into one padded atomic per worker.
#[derive(Debug)]
pub struct RawWorkers {
    cells: [CachePadded<AtomicU64>; 64],
}

impl RawWorkers {
    /// All cells at zero.
    pub const fn new() -> Self {
        Self {
            cells: [const { CachePadded::new(AtomicU64::new(0)) }; 64],
        }
    }

    /// Resolves `(method, worker)` by hand and increments its cell.
    #[inline]
    pub fn inc(&self, method: &str, worker: &str) {
        if method != "GET" {
            return;
        }
        if let Some(i) = worker_index(worker) {
            self.cells[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The total over all cells.
    pub fn total(&self) -> u64 {
        self.cells.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

impl Default for RawWorkers {
    fn default() -> Self {
        Self::new()
    }
}

/// Stripes of padded atomics indexed by thread: the hand-written sharded counter.
#[derive(Debug)]
pub struct RawStriped {
    stripes: [CachePadded<AtomicU64>; 64],
}

impl RawStriped {
    /// All stripes at zero.
    pub const fn new() -> Self {
        Self {
            stripes: [const { CachePadded::new(AtomicU64::new(0)) }; 64],
        }
    }

    /// Adds one to stripe `stripe % 64`.
    #[inline]
    pub fn inc(&self, stripe: usize) {
        self.stripes[stripe & 63].fetch_add(1, Ordering::Relaxed);
    }

    /// The total over all stripes.
    pub fn total(&self) -> u64 {
        self.stripes.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

impl Default for RawStriped {
    fn default() -> Self {
        Self::new()
    }
}

/// Index of the latency bucket `value` lands in (a linear search; NaN lands in `+Inf`).
#[inline(always)]
fn latency_bucket(value: f64) -> usize {
    LATENCY_MS
        .iter()
        .position(|bound| value <= *bound)
        .unwrap_or(LATENCY_MS.len())
}

/// The raw-atomic histogram: a bucket count per latency bucket and the sum.
#[derive(Debug)]
pub struct RawHistogram {
    counts: [AtomicU64; LATENCY_BUCKETS],
    sum: AtomicU64,
}

impl RawHistogram {
    /// All zero.
    pub const fn new() -> Self {
        Self {
            counts: [const { AtomicU64::new(0) }; LATENCY_BUCKETS],
            sum: AtomicU64::new(0),
        }
    }

    /// Records one observation.
    #[inline]
    pub fn observe(&self, value: f64) {
        self.counts[latency_bucket(value)].fetch_add(1, Ordering::Relaxed);
        let mut current = self.sum.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + value).to_bits();
            match self.sum.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

impl Default for RawHistogram {
    fn default() -> Self {
        Self::new()
    }
}

thread_local! {
    static CELL: Cell<u64> = const { Cell::new(0) };
    static LABELLED_CELLS: [Cell<u64>; 64] = const { [const { Cell::new(0) }; 64] };
    static HISTOGRAM_CELLS: ([Cell<u64>; LATENCY_BUCKETS], Cell<f64>) =
        const { ([const { Cell::new(0) }; LATENCY_BUCKETS], Cell::new(0.0)) };
}

/// `raw-cell`: adds one to this thread's cell.
#[inline]
pub fn cell_inc() {
    CELL.with(|c| c.set(c.get() + 1));
    compiler_fence(Ordering::SeqCst);
}

/// `raw-cell`: this thread's unlabelled total.
pub fn cell_total() -> u64 {
    CELL.with(Cell::get)
}

/// `raw-cell`: resolves `(method, status)` by hand into this thread's cells.
#[inline]
pub fn cell_inc_labelled(method: &str, status: &str) {
    if let Some(i) = combination_index(method, status) {
        LABELLED_CELLS.with(|cells| cells[i].set(cells[i].get() + 1));
        compiler_fence(Ordering::SeqCst);
    }
}

/// `raw-cell`: resolves `("GET", worker)` by hand into this thread's cells.
#[inline]
pub fn cell_inc_worker(method: &str, worker: &str) {
    if method != "GET" {
        return;
    }
    if let Some(i) = worker_index(worker) {
        LABELLED_CELLS.with(|cells| cells[i].set(cells[i].get() + 1));
        compiler_fence(Ordering::SeqCst);
    }
}

/// `raw-cell`: this thread's labelled total.
pub fn cell_labelled_total() -> u64 {
    LABELLED_CELLS.with(|cells| cells.iter().map(Cell::get).sum())
}

/// `raw-cell`: records one observation in this thread's histogram.
#[inline]
pub fn cell_observe(value: f64) {
    HISTOGRAM_CELLS.with(|(counts, sum)| {
        let i = latency_bucket(value);
        counts[i].set(counts[i].get() + 1);
        sum.set(sum.get() + value);
    });
    compiler_fence(Ordering::SeqCst);
}

/// `raw-cell`: this thread's observation count.
pub fn cell_observed() -> u64 {
    HISTOGRAM_CELLS.with(|(counts, _)| counts.iter().map(Cell::get).sum())
}
