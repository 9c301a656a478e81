//! The one read path: a [`Visitor`] walks every family and series of a registry.
//!
//! Every exporter is a visitor — the text encoders in core, the OTLP converter in
//! `corral-exporters` — and none of them reads a slot directly. A visitor sees each series
//! once, as one consistent point ([`Value`]), with its labels ([`SeriesLabels`]).
//!
//! A visit can stop part-way (`ControlFlow::Break`) and resume later from the
//! [`Cursor`] it returned, which is how a registry larger than a fixed render buffer is
//! written out in chunks.

use core::ops::ControlFlow;

pub use crate::value::{
    ExemplarLabels, ExemplarValue, HistogramValue, LabelIter, MetricKind, NATIVE_MAX_SCHEMA,
    NATIVE_MIN_SCHEMA, NativeBucketIter, NativeBuckets, NativeHistogramValue, OVERFLOW_LABEL,
    SeriesLabels, SummaryValue, Value,
};

/// Describes a family to a visitor.
#[derive(Clone, Copy, Debug)]
pub struct FamilyInfo<'a> {
    /// Metric name, as registered.
    pub name: &'a str,
    /// Help text.
    pub help: &'a str,
    /// Unit, if one was declared; the name ends with `_<unit>` (before `_total`).
    pub unit: Option<&'a str>,
    /// The family's kind.
    pub kind: MetricKind,
    /// Label names, in the order [`SeriesLabels`] yields values.
    pub label_names: &'a [&'a str],
}

/// Receives the families and series of a registry, in registration order.
///
/// Return `ControlFlow::Break(())` from any method to stop; the visit then reports where
/// it stopped, so it can resume from there.
pub trait Visitor {
    /// A family begins.
    fn family(&mut self, family: &FamilyInfo<'_>) -> ControlFlow<()> {
        let _ = family;
        ControlFlow::Continue(())
    }

    /// One series of the current family.
    fn series(
        &mut self,
        family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> ControlFlow<()>;

    /// The current family is complete.
    fn family_end(&mut self, family: &FamilyInfo<'_>) -> ControlFlow<()> {
        let _ = family;
        ControlFlow::Continue(())
    }
}

/// Where a paused visit stopped. Pass it to [`Registry::visit_from`](crate::Registry::visit_from)
/// to continue with the first callback that was refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub(crate) family: usize,
    pub(crate) series: usize,
    pub(crate) phase: Phase,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The family header has not been accepted yet.
    #[default]
    Header,
    /// Series from `series` on are pending.
    Series,
    /// Only the family end is pending.
    End,
}

impl Cursor {
    /// The start of a registry.
    pub const START: Cursor = Cursor {
        family: 0,
        series: 0,
        phase: Phase::Header,
    };
}

/// How a visit ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visit {
    /// Every family and series was visited.
    Complete,
    /// The visitor stopped; resume from this cursor.
    Paused(Cursor),
}
