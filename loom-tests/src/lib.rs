//! Loom models of every concurrent structure in `corral-core`.
//!
//! Each file in `tests/` models one component through core's public API, with small
//! models (two or three threads, tiny capacities) that each state the property they prove.
//!
//! Run them under loom, in their own target directory so the normal build cache is kept:
//!
//! ```text
//! RUSTFLAGS="--cfg corral_loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p corral-loom-tests --profile loom
//! ```
//!
//! (`.ci/loom.sh` does exactly that.) Without `--cfg corral_loom` the same files compile
//! against std's threads and run each model once, so `cargo test --workspace` keeps them
//! building and catches plain logic errors in them.
//!
//! Adding a model for a new structure means adding one file to `tests/`:
//!
//! - `use corral_loom_tests::{explore, leak, model, thread};` and build the structure in a
//!   [`leak`]ed box inside the model closure (one per execution, never a `static`);
//! - two or three threads, the smallest capacities that reach the interesting states, and
//!   a doc comment on each test saying which property it proves;
//! - put readers (visits, snapshots) in their own spawned thread, spawned after the
//!   writers, not in the model's main thread (loom 0.7 explored a single execution for a
//!   visit in the main thread racing a registration);
//! - use [`explore`] with the outcomes the model is about (each interleaving class it must
//!   reach), so a model that loom never actually drives into the race fails instead of
//!   passing.
//!
//! `Registry::register` takes `&'static self` and `&'static dyn Collect`, so models put
//! registries and families in [`leak`]ed boxes: one per explored execution. Loom only
//! tracks (and reports as leaked) its own `loom::alloc` and `loom::sync::Arc` allocations;
//! a leaked std `Box` holding loom atomics is never dropped, so it never touches a later
//! execution's state. The cost is a few kilobytes per execution.

use core::fmt::Write as _;
use core::ops::ControlFlow;

use corral_core::{
    Collect, Counter, DynamicFamily, FamilyInfo, OverflowReason, Registry, SeriesLabels, Value,
    Visitor,
};

#[cfg(corral_loom)]
pub use loom::{sync::Arc, thread};

#[cfg(not(corral_loom))]
pub use std::{sync::Arc, thread};

/// The preemption bound used when `LOOM_MAX_PREEMPTIONS` is not set.
pub const DEFAULT_MAX_PREEMPTIONS: usize = 2;

/// Explores every interleaving of `f` (up to the preemption bound) under loom; runs `f`
/// once on real threads otherwise.
///
/// Under loom it prints, to the test's captured output, how many executions were explored
/// and how long they took (`cargo test -- --nocapture` shows it).
#[cfg(corral_loom)]
pub fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    use core::sync::atomic::{AtomicUsize, Ordering};

    static EXECUTIONS: AtomicUsize = AtomicUsize::new(0);
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(DEFAULT_MAX_PREEMPTIONS);
    }
    let name = std::thread::current().name().unwrap_or("model").to_owned();
    let start = std::time::Instant::now();
    let before = EXECUTIONS.load(Ordering::Relaxed);
    builder.check(move || {
        EXECUTIONS.fetch_add(1, Ordering::Relaxed);
        f();
    });
    println!(
        "loom model {name}: {} executions in {:.2?} (preemption bound {:?})",
        EXECUTIONS.load(Ordering::Relaxed) - before,
        start.elapsed(),
        builder.preemption_bound,
    );
}

/// Explores every interleaving of `f` (up to the preemption bound) under loom; runs `f`
/// once on real threads otherwise.
#[cfg(not(corral_loom))]
pub fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    f();
}

/// The outcomes a model reached, over every execution loom explored.
///
/// loom 0.7's partial-order reduction is known to skip some interleavings (for instance
/// tokio-rs/loom#392 and #166: a thread's own load of a location can hide an earlier load
/// by another thread, so the race with its later store is never explored). A model that
/// only asserts inside each execution could therefore pass without ever running the
/// interleaving it is about. Models built with [`explore`] record which case each
/// execution hit and, under loom, fail unless every case they name was reached.
#[derive(Debug, Default)]
pub struct Outcomes {
    seen: std::sync::Mutex<std::collections::BTreeMap<&'static str, usize>>,
}

impl Outcomes {
    /// Notes that this execution reached `outcome`.
    pub fn record(&self, outcome: &'static str) {
        *self.seen.lock().unwrap().entry(outcome).or_default() += 1;
    }

    /// Every outcome recorded so far, with how many executions reached it.
    pub fn snapshot(&self) -> std::collections::BTreeMap<&'static str, usize> {
        self.seen.lock().unwrap().clone()
    }
}

/// Runs `f` like [`model`], handing it an [`Outcomes`] to record which case each execution
/// reached. Under loom it then fails unless every outcome in `required` was reached at
/// least once; without loom (one execution on real threads) it checks nothing more.
pub fn explore<F>(required: &'static [&'static str], f: F)
where
    F: Fn(&'static Outcomes) + Sync + Send + 'static,
{
    let outcomes: &'static Outcomes = leak(Outcomes::default());
    model(move || f(outcomes));
    let seen = outcomes.snapshot();
    if cfg!(corral_loom) {
        println!("  outcomes: {seen:?}");
        for outcome in required {
            assert!(
                seen.contains_key(outcome),
                "loom never explored an execution where {outcome:?} (reached: {seen:?}); \
                 the model does not cover that case"
            );
        }
    }
}

/// Moves `value` to the heap for the rest of the process, for APIs that take `&'static`.
pub fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// A snapshot of one metric value, owned so it outlives the visit.
#[derive(Clone, Debug, PartialEq)]
pub enum Sample {
    /// A `u64` counter.
    Counter(u64),
    /// An `f64` counter.
    FloatCounter(f64),
    /// An `f64` gauge.
    Gauge(f64),
    /// An `i64` gauge.
    IntGauge(i64),
    /// A histogram point.
    Histogram {
        /// Per-bucket counts, not cumulative, `+Inf` last.
        counts: Vec<u64>,
        /// `(upper bound, cumulative count)`, as the encoders render `_bucket` lines.
        cumulative: Vec<(f64, u64)>,
        /// The count as rendered for `_count`.
        count: u64,
        /// The sum.
        sum: f64,
    },
    /// Any other kind; models that need it add a variant.
    Other,
}

impl Sample {
    fn of(value: &Value<'_>) -> Sample {
        match value {
            Value::Counter(v) => Sample::Counter(*v),
            Value::FloatCounter(v) => Sample::FloatCounter(*v),
            Value::Gauge(v) => Sample::Gauge(*v),
            Value::IntGauge(v) => Sample::IntGauge(*v),
            Value::Histogram(h) => Sample::Histogram {
                counts: h.counts().to_vec(),
                cumulative: h.cumulative().collect(),
                count: h.count(),
                sum: h.sum(),
            },
            _ => Sample::Other,
        }
    }
}

/// One series as a visitor saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct SeenSeries {
    /// The family name (empty when collected straight from a family).
    pub family: String,
    /// `name="value"` pairs joined by commas, e.g. `key="alpha"`, or the overflow label.
    pub labels: String,
    /// The value.
    pub sample: Sample,
}

fn render_labels(labels: &SeriesLabels<'_>) -> String {
    let mut out = String::new();
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{name}=\"{value}\"");
    }
    out
}

/// A visitor that records every family and series it is shown.
#[derive(Debug, Default)]
pub struct Recorder {
    /// Family names, in visit order (the registry's own metrics included).
    pub families: Vec<String>,
    /// Every series, in visit order.
    pub series: Vec<SeenSeries>,
}

impl Visitor for Recorder {
    fn family(&mut self, family: &FamilyInfo<'_>) -> ControlFlow<()> {
        self.families.push(family.name.to_owned());
        ControlFlow::Continue(())
    }

    fn series(
        &mut self,
        family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> ControlFlow<()> {
        self.series.push(SeenSeries {
            family: family.name.to_owned(),
            labels: render_labels(labels),
            sample: Sample::of(value),
        });
        ControlFlow::Continue(())
    }
}

/// Visits `registry` once and returns what the visitor saw.
pub fn scrape<const FAMILIES: usize>(registry: &Registry<FAMILIES>) -> Recorder {
    let mut recorder = Recorder::default();
    let _ = registry.visit(&mut recorder);
    recorder
}

/// Collects every series of one family (what a registry visit reads from it).
pub fn collect_family(family: &dyn Collect) -> Vec<SeenSeries> {
    let mut out = Vec::new();
    let _ = family.collect(0, &mut |_, labels, value| {
        out.push(SeenSeries {
            family: String::new(),
            labels: render_labels(labels),
            sample: Sample::of(value),
        });
        ControlFlow::Continue(())
    });
    out
}

/// How many recordings `family` sent to its overflow series for `reason`.
pub fn overflowed(family: &dyn Collect, reason: OverflowReason) -> u64 {
    let index = OverflowReason::ALL
        .iter()
        .position(|r| *r == reason)
        .expect("every reason is in OverflowReason::ALL");
    family.overflow_counts()[index]
}

/// Recordings `family` sent to its overflow series, all reasons together.
pub fn overflowed_total(family: &dyn Collect) -> u64 {
    family.overflow_counts().iter().sum()
}

/// A [`BuildHasher`](core::hash::BuildHasher) whose hashes the model chooses: a key's hash
/// is decided by the first byte of its first label value, so a model can make keys share a
/// home slot, share a tag, or differ in both, without depending on a real hash function.
///
/// | first byte | home slot (low bits) | tag |
/// | --- | --- | --- |
/// | `a` | 0 | 1 |
/// | `b` | 0 | 2 (same home as `a`, different tag) |
/// | `c` | 0 | 1 (same home and tag as `a`: only the key bytes tell them apart) |
/// | `d` | 1 | 3 |
/// | other | 1 | 4 |
#[derive(Clone, Copy, Debug, Default)]
pub struct ScriptedHash;

/// A one-label counter family of `SERIES` slots (16 key bytes) hashed by [`ScriptedHash`]:
/// the table the dynamic-label models run on.
pub type ScriptedFamily<const SERIES: usize> = DynamicFamily<Counter, 1, SERIES, 16, ScriptedHash>;

/// A fresh [`ScriptedFamily`], labelled `key`, for the rest of the process.
pub fn scripted_family<const SERIES: usize>() -> &'static ScriptedFamily<SERIES> {
    leak(DynamicFamily::with_hasher(["key"], (), ScriptedHash))
}

/// The hasher [`ScriptedHash`] builds.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScriptedHasher {
    first: Option<u8>,
}

impl core::hash::BuildHasher for ScriptedHash {
    type Hasher = ScriptedHasher;

    fn build_hasher(&self) -> ScriptedHasher {
        ScriptedHasher::default()
    }
}

impl core::hash::Hasher for ScriptedHasher {
    fn write(&mut self, bytes: &[u8]) {
        if self.first.is_none() {
            self.first = bytes.first().copied();
        }
    }

    fn finish(&self) -> u64 {
        // The table takes the home slot from the low bits and a 30-bit tag from bits
        // 34..64 (bits 32 and 33 hold the slot status), so the tag goes in at bit 34. The
        // tag goes in again at bit 41, where the presence filter takes its bit from, so
        // that keys with different tags have different presence bits.
        let (home, tag): (u64, u64) = match self.first {
            Some(b'a') => (0, 1),
            Some(b'b') => (0, 2),
            Some(b'c') => (0, 1),
            Some(b'd') => (1, 3),
            _ => (1, 4),
        };
        (tag << 41) | (tag << 34) | home
    }
}
