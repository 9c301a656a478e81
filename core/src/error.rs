//! Errors of the fallible set-up calls. Recording itself never fails.

use core::fmt;

/// A registration was refused; nothing was registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegisterError {
    /// The metric name that was being registered.
    pub metric: &'static str,
    /// What was wrong.
    pub reason: Reason,
}

/// Why a registration was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// The registry holds as many families as it has room for.
    RegistryFull {
        /// Families the registry holds.
        capacity: usize,
    },
    /// The name does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    InvalidName,
    /// A counter's name must end in `_total`.
    CounterWithoutTotal,
    /// The unit is not made of name characters.
    InvalidUnit {
        /// The unit given.
        unit: &'static str,
    },
    /// OpenMetrics requires the name to end with `_<unit>` (before `_total` for counters).
    UnitNotInName {
        /// The unit given.
        unit: &'static str,
    },
    /// The name, or one of the series names it produces, is already taken.
    DuplicateName {
        /// The registered metric it clashes with.
        existing: &'static str,
    },
    /// A label name does not match `[a-zA-Z_][a-zA-Z0-9_]*`.
    InvalidLabelName {
        /// The label name.
        label: &'static str,
    },
    /// A label name is reserved: `__`-prefixed, `le` on a histogram, or the overflow label.
    ReservedLabelName {
        /// The label name.
        label: &'static str,
    },
    /// The same label name appears twice.
    DuplicateLabelName {
        /// The label name.
        label: &'static str,
    },
    /// A closed label set gives one value twice, which would make two series with the
    /// same labels.
    DuplicateLabelValue {
        /// The label name.
        label: &'static str,
        /// The value given twice.
        value: &'static str,
    },
    /// A counter named just `_total`: its OpenMetrics family name would be empty.
    EmptyCounterName,
    /// More label names than `max_label_keys`.
    TooManyLabels {
        /// Label names given.
        count: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The label is on the high-cardinality deny-list and the descriptor does not allow it.
    HighCardinalityLabel {
        /// The label name.
        label: &'static str,
    },
    /// A label value of a closed label set is longer than `max_label_value_length`.
    LabelValueTooLong {
        /// The label name.
        label: &'static str,
        /// Bytes in the value.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The family can hold more series than `max_series_per_metric` allows.
    TooManySeries {
        /// Series the family can hold.
        capacity: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The registry-wide series budget cannot cover the series this metric sets aside.
    SeriesBudgetExhausted {
        /// Series the metric needs.
        needed: usize,
        /// Series left in the budget.
        available: usize,
    },
    /// This family is already registered (in this or another registry).
    AlreadyRegistered,
    /// The histogram's bucket bounds are invalid.
    InvalidBuckets(BoundsError),
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot register metric `{}`: {}",
            self.metric, self.reason
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reason::RegistryFull { capacity } => {
                write!(f, "the registry is full ({capacity} families)")
            }
            Reason::InvalidName => f.write_str("the name must match [a-zA-Z_:][a-zA-Z0-9_:]*"),
            Reason::CounterWithoutTotal => f.write_str("a counter's name must end in `_total`"),
            Reason::InvalidUnit { unit } => {
                write!(f, "unit `{unit}` must match [a-zA-Z0-9_:]+")
            }
            Reason::UnitNotInName { unit } => {
                write!(
                    f,
                    "the name must end with `_{unit}` (before `_total` for a counter)"
                )
            }
            Reason::DuplicateName { existing } => {
                write!(
                    f,
                    "the name clashes with the registered metric `{existing}`"
                )
            }
            Reason::InvalidLabelName { label } => {
                write!(f, "label name `{label}` must match [a-zA-Z_][a-zA-Z0-9_]*")
            }
            Reason::ReservedLabelName { label } => write!(f, "label name `{label}` is reserved"),
            Reason::DuplicateLabelName { label } => {
                write!(f, "label name `{label}` appears more than once")
            }
            Reason::DuplicateLabelValue { label, value } => write!(
                f,
                "label `{label}` has the value `{value}` more than once, which would make \
                 two series with the same labels"
            ),
            Reason::EmptyCounterName => f.write_str(
                "a counter's name needs a name before `_total` (OpenMetrics names the family \
                 without the suffix)",
            ),
            Reason::TooManyLabels { count, max } => {
                write!(f, "{count} label names, more than max_label_keys ({max})")
            }
            Reason::HighCardinalityLabel { label } => write!(
                f,
                "label `{label}` is on the high-cardinality deny-list; allow it explicitly \
                 with Desc::allow_labels if its values are bounded"
            ),
            Reason::LabelValueTooLong { label, len, max } => write!(
                f,
                "a value of label `{label}` is {len} bytes, over max_label_value_length ({max})"
            ),
            Reason::TooManySeries { capacity, max } => write!(
                f,
                "the family holds {capacity} series, over max_series_per_metric ({max})"
            ),
            Reason::SeriesBudgetExhausted { needed, available } => write!(
                f,
                "it needs {needed} series but only {available} are left of max_total_series"
            ),
            Reason::AlreadyRegistered => f.write_str("this family is already registered"),
            Reason::InvalidBuckets(e) => write!(f, "invalid buckets: {e}"),
        }
    }
}

impl core::error::Error for RegisterError {}

/// Why a dynamic label lookup could not use its own series. `with_labels` sends such a
/// recording to the family's overflow series and counts it; `try_with_labels` returns this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabelError {
    /// A value is longer than `max_label_value_length`.
    ValueTooLong {
        /// The label whose value is too long.
        label: &'static str,
        /// Bytes in the value.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The values together do not fit the family's per-series key storage.
    KeyTooLong {
        /// Bytes the encoded values need.
        len: usize,
        /// Bytes each series stores (the family's `KEY_BYTES`).
        capacity: usize,
    },
    /// The family holds as many series as it may.
    FamilyFull {
        /// Series the family may hold.
        capacity: usize,
    },
    /// The registry-wide series budget is spent.
    SeriesBudgetExhausted {
        /// The configured `max_total_series`.
        max: usize,
    },
    /// The series would have to be placed more than `limit` slots from its home slot
    /// ([`MAX_PROBE`](crate::MAX_PROBE)): too many values hash near it.
    ProbeLimit {
        /// The probe bound.
        limit: usize,
    },
    /// Another thread was inserting a series in the same slot and did not finish within
    /// the bounded wait (for example because it was preempted, or is the code an interrupt
    /// handler interrupted).
    Contended,
}

impl LabelError {
    /// The overflow reason this error is counted under.
    pub const fn reason(&self) -> OverflowReason {
        match self {
            LabelError::ValueTooLong { .. } => OverflowReason::ValueTooLong,
            LabelError::KeyTooLong { .. } => OverflowReason::KeyTooLong,
            LabelError::FamilyFull { .. } => OverflowReason::FamilyFull,
            LabelError::SeriesBudgetExhausted { .. } => OverflowReason::SeriesBudget,
            LabelError::ProbeLimit { .. } => OverflowReason::ProbeLimit,
            LabelError::Contended => OverflowReason::Contended,
        }
    }
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LabelError::ValueTooLong { label, len, max } => write!(
                f,
                "value of label `{label}` is {len} bytes, over max_label_value_length ({max})"
            ),
            LabelError::KeyTooLong { len, capacity } => write!(
                f,
                "label values need {len} bytes of key storage, the family stores {capacity} per series"
            ),
            LabelError::FamilyFull { capacity } => {
                write!(f, "the family is full ({capacity} series)")
            }
            LabelError::SeriesBudgetExhausted { max } => {
                write!(f, "the registry's series budget ({max}) is spent")
            }
            LabelError::ProbeLimit { limit } => write!(
                f,
                "the series would be more than {limit} slots from its home slot (too many \
                 values hash near it)"
            ),
            LabelError::Contended => {
                f.write_str("a concurrent insert into the same slot did not finish in time")
            }
        }
    }
}

impl core::error::Error for LabelError {}

/// Why recordings went to a family's overflow series; each has its own count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OverflowReason {
    /// The family was full.
    FamilyFull,
    /// The registry-wide series budget was spent.
    SeriesBudget,
    /// A label value was too long.
    ValueTooLong,
    /// The label values did not fit the per-series key storage.
    KeyTooLong,
    /// A concurrent insert into the same slot did not finish in time.
    Contended,
    /// The series would have been placed past the probe bound.
    ProbeLimit,
}

impl OverflowReason {
    /// Every reason, in the order of [`OverflowCounts`].
    pub const ALL: [OverflowReason; 6] = [
        OverflowReason::FamilyFull,
        OverflowReason::SeriesBudget,
        OverflowReason::ValueTooLong,
        OverflowReason::KeyTooLong,
        OverflowReason::Contended,
        OverflowReason::ProbeLimit,
    ];

    /// The `reason` label value of the self-metric.
    pub const fn as_str(self) -> &'static str {
        match self {
            OverflowReason::FamilyFull => "family_full",
            OverflowReason::SeriesBudget => "series_budget",
            OverflowReason::ValueTooLong => "value_too_long",
            OverflowReason::KeyTooLong => "key_too_long",
            OverflowReason::Contended => "contended",
            OverflowReason::ProbeLimit => "probe_limit",
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

/// Recordings sent to a family's overflow series, by reason.
pub type OverflowCounts = [u64; OverflowReason::ALL.len()];

/// Why a set of bucket bounds was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BoundsError {
    /// More finite bounds than the histogram has buckets for (one bucket is always `+Inf`).
    TooMany {
        /// Finite bounds given.
        bounds: usize,
        /// Buckets the histogram type holds, `+Inf` included.
        capacity: usize,
    },
    /// A bound is NaN or infinite (`+Inf` is implicit and must not be listed).
    NotFinite {
        /// Position of the offending bound.
        index: usize,
    },
    /// A bound is not greater than the one before it.
    NotIncreasing {
        /// Position of the offending bound.
        index: usize,
    },
    /// A summary's configuration does not fit its type.
    Summary(SummaryConfigError),
    /// A native histogram's zero threshold is not a positive, normal, finite number.
    ZeroThreshold,
}

impl fmt::Display for BoundsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BoundsError::TooMany { bounds, capacity } => write!(
                f,
                "{bounds} finite bucket bounds do not fit a histogram of {capacity} buckets \
                 (one bucket is always +Inf, so at most {} bounds)",
                capacity.saturating_sub(1)
            ),
            BoundsError::NotFinite { index } => write!(
                f,
                "bucket bound #{index} is not finite (+Inf is implicit and must not be listed)"
            ),
            BoundsError::NotIncreasing { index } => {
                write!(
                    f,
                    "bucket bound #{index} is not greater than the bound before it"
                )
            }
            BoundsError::Summary(e) => write!(f, "{e}"),
            BoundsError::ZeroThreshold => f.write_str(
                "a native histogram's zero threshold must be a positive, normal, finite number",
            ),
        }
    }
}

impl core::error::Error for BoundsError {}

/// Why a summary configuration was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SummaryConfigError {
    /// The lowest value of the range is not a positive, normal, finite number.
    InvalidLowest,
    /// The range's upper edge, `lowest * 2^(BUCKETS / 2^SCALE)`, is beyond `f64::MAX`.
    RangeTooHigh,
    /// More quantiles than [`MAX_QUANTILES`](crate::MAX_QUANTILES).
    TooManyQuantiles {
        /// Quantiles given.
        count: usize,
    },
    /// A quantile is not within `[0, 1]`.
    QuantileOutOfRange {
        /// Position of the offending quantile.
        index: usize,
    },
    /// A quantile is not greater than the one before it.
    QuantilesNotIncreasing {
        /// Position of the offending quantile.
        index: usize,
    },
    /// A window was configured, but the summary type has no snapshot slots (`WINDOW = 0`).
    WindowWithoutSlots,
    /// The summary type has snapshot slots (`WINDOW > 0`) but no window was configured.
    SlotsWithoutWindow,
    /// A window needs at least two snapshot slots.
    TooFewSlots {
        /// `WINDOW`.
        slots: usize,
    },
    /// `max_age` is shorter than `WINDOW - 1` ticks, so a step would be 0 ticks.
    MaxAgeTooShort {
        /// The configured `max_age`.
        max_age: u64,
    },
}

impl SummaryConfigError {
    pub(crate) const fn message(self) -> &'static str {
        match self {
            SummaryConfigError::InvalidLowest => {
                "the lowest value of a summary's range must be a positive, normal, finite number"
            }
            SummaryConfigError::RangeTooHigh => {
                "a summary's range must end below f64::MAX: lower `lowest` or use fewer BUCKETS"
            }
            SummaryConfigError::TooManyQuantiles { .. } => {
                "a summary reports at most MAX_QUANTILES (16) quantiles"
            }
            SummaryConfigError::QuantileOutOfRange { .. } => {
                "summary quantiles must be within [0, 1]"
            }
            SummaryConfigError::QuantilesNotIncreasing { .. } => {
                "summary quantiles must be strictly increasing"
            }
            SummaryConfigError::WindowWithoutSlots => {
                "a summary window needs snapshot slots: use WINDOW >= 2"
            }
            SummaryConfigError::SlotsWithoutWindow => {
                "a summary with WINDOW > 0 snapshot slots needs `with_window`"
            }
            SummaryConfigError::TooFewSlots { .. } => "a summary window needs WINDOW >= 2 slots",
            SummaryConfigError::MaxAgeTooShort { .. } => {
                "a summary window's max_age must be at least WINDOW - 1 ticks"
            }
        }
    }
}

impl fmt::Display for SummaryConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())?;
        match *self {
            SummaryConfigError::TooManyQuantiles { count } => write!(f, " ({count} given)"),
            SummaryConfigError::QuantileOutOfRange { index }
            | SummaryConfigError::QuantilesNotIncreasing { index } => {
                write!(f, " (quantile #{index})")
            }
            SummaryConfigError::TooFewSlots { slots } => write!(f, " ({slots} given)"),
            SummaryConfigError::MaxAgeTooShort { max_age } => write!(f, " (max_age {max_age})"),
            _ => Ok(()),
        }
    }
}

impl core::error::Error for SummaryConfigError {}
