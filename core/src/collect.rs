//! [`Collect`]: what a registry needs from each thing registered in it.

use core::ops::ControlFlow;

use crate::config::{Limits, RegistryConfig};
use crate::error::{OverflowCounts, OverflowReason, Reason};
use crate::macros::{const_fn, fresh_array};
use crate::sync::{AtomicU64, Ordering};
use crate::value::{MetricKind, SeriesLabels, Value};

/// Receives the series of one family during a visit: `(position, labels, value)`.
///
/// Positions are stable (a slot index), increasing, and what a paused visit resumes from.
pub type SeriesSink<'s> = dyn FnMut(usize, &SeriesLabels<'_>, &Value<'_>) -> ControlFlow<()> + 's;

/// How far ahead of its collection a visit tells a family to prefetch (see
/// [`Collect::prefetch`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prefetch {
    /// Two families ahead: prefetch the family's own fields and any index its walk reads
    /// first, with prefetch instructions only (no load that could wait on memory).
    Far,
    /// One family ahead: what `Far` asked for has likely arrived; read it if need be and
    /// prefetch the first series.
    Near,
}

/// A family the registry can hold: the metric types, both label-family kinds, and any
/// custom collector (for example one that reads process statistics at scrape time).
///
/// Only [`kind`](Collect::kind) and [`collect`](Collect::collect) are required; the rest
/// describe labels and series counts for registration checks and have defaults that fit an
/// unlabelled metric.
pub trait Collect: Sync {
    /// The family's kind.
    fn kind(&self) -> MetricKind;

    /// Label names, in the order values are yielded.
    fn label_names(&self) -> &[&'static str] {
        &[]
    }

    /// Series set aside in the registry-wide budget at registration: every series the
    /// family can ever have when its label set is closed. A dynamic family returns 0: its
    /// series take from the budget one by one as they appear.
    fn reserved_series(&self) -> usize {
        1
    }

    /// The most series the family can hold, its overflow series not counted.
    fn capacity(&self) -> usize {
        1
    }

    /// Checks the family against the registry's configuration (label value lengths,
    /// bucket bounds); called once, at registration.
    fn check(&self, config: &RegistryConfig) -> Result<(), Reason> {
        let _ = config;
        Ok(())
    }

    /// Connects a dynamic family to the registry's limits and series budget. Called once,
    /// at registration, after every check passed.
    ///
    /// # Errors
    ///
    /// [`Reason::AlreadyRegistered`] if the family is connected to a registry already.
    fn attach(&self, limits: &'static Limits) -> Result<(), Reason> {
        let _ = limits;
        Ok(())
    }

    /// Recordings sent to the overflow series so far, by reason.
    fn overflow_counts(&self) -> OverflowCounts {
        [0; OverflowReason::ALL.len()]
    }

    /// A hint that a visit will collect this family soon, so that the memory
    /// [`collect`](Collect::collect) reads first can be loading while the families before
    /// it are written: on targets where Corral issues prefetch instructions (x86_64, not
    /// under loom or Miri), a registry's visit calls it with [`Prefetch::Far`] two families
    /// ahead and with [`Prefetch::Near`] one family ahead; elsewhere it never calls it. It
    /// must not change what any visit sees. The default does nothing, which suits a family whose data is small or
    /// computed at scrape time.
    fn prefetch(&self, stage: Prefetch) {
        let _ = stage;
    }

    /// Passes every series at position `from` or later to `sink`, in position order.
    ///
    /// Returns `Break(position)` with the position of the series `sink` refused.
    fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize>;
}

/// Collects the one unlabelled series of a standalone metric.
pub(crate) fn collect_one(
    from: usize,
    sink: &mut SeriesSink<'_>,
    value: &Value<'_>,
) -> ControlFlow<usize> {
    if from == 0 && sink(0, &SeriesLabels::NONE, value).is_break() {
        return ControlFlow::Break(0);
    }
    ControlFlow::Continue(())
}

/// Per-reason counts of recordings a family sent to its overflow series.
#[derive(Debug)]
pub(crate) struct OverflowTally {
    counts: [AtomicU64; OverflowReason::ALL.len()],
}

impl OverflowTally {
    const_fn! {
        pub(crate) const fn new() -> Self {
            Self { counts: fresh_array!(AtomicU64::new(0); OverflowReason::ALL.len()) }
        }
    }

    #[cold]
    pub(crate) fn count(&self, reason: OverflowReason) {
        self.counts[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> OverflowCounts {
        let mut out = [0; OverflowReason::ALL.len()];
        for (o, c) in out.iter_mut().zip(&self.counts) {
            *o = c.load(Ordering::Relaxed);
        }
        out
    }

    /// Whether anything went to the overflow series (so it is worth rendering).
    pub(crate) fn any(&self) -> bool {
        self.counts.iter().any(|c| c.load(Ordering::Relaxed) != 0)
    }
}
