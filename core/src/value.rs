//! The vocabulary of the read path: what kind a family is, and the one consistent point
//! of one series ([`Value`]) with its labels ([`SeriesLabels`]), as every visitor sees them.

use crate::encoded::EncodedValues;
use crate::sketch::SketchSnapshot;

/// What kind of metric a family is, as the exposition formats name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetricKind {
    /// A monotonic total; its name ends in `_total`.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Observations counted into fixed buckets, with their sum and count.
    Histogram,
    /// Observations summarised as quantiles, with their sum and count.
    Summary,
}

impl MetricKind {
    /// The name the Prometheus text format's `# TYPE` line uses.
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
            MetricKind::Summary => "summary",
        }
    }
}

/// One consistent point of one series.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Value<'a> {
    /// A `u64` counter total.
    Counter(u64),
    /// An `f64` counter total.
    FloatCounter(f64),
    /// An `f64` gauge.
    Gauge(f64),
    /// An `i64` gauge.
    IntGauge(i64),
    /// A histogram.
    Histogram(HistogramValue<'a>),
    /// A summary.
    Summary(SummaryValue<'a>),
    /// A `u64` counter total with the exemplar last recorded on it (see
    /// [`CounterWithExemplar`](crate::CounterWithExemplar)). A visitor that has no use for
    /// exemplars treats it exactly like [`Value::Counter`]; a counter with no exemplar
    /// recorded yet is read as a plain `Value::Counter`.
    CounterWithExemplar(u64, ExemplarValue<'a>),
    /// A native histogram (see [`NativeHistogram`](crate::NativeHistogram)); its family's
    /// kind is [`MetricKind::Histogram`]. Text formats render its classic buckets, or only
    /// its `+Inf` bucket, `_sum` and `_count` when it keeps none.
    NativeHistogram(NativeHistogramValue<'a>),
}

/// One exemplar: a reference to something outside the metric (usually the trace and span
/// that recorded the observation), with the value it recorded and optionally when.
///
/// OpenMetrics renders it after the sample it belongs to:
/// `foo_total 17 # {trace_id="4bf9",span_id="00f0"} 1.0 1520879607.789`.
#[derive(Clone, Copy, Debug)]
pub struct ExemplarValue<'a> {
    labels: ExemplarLabelsRepr<'a>,
    value: f64,
    timestamp: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
enum ExemplarLabelsRepr<'a> {
    /// `count` name/value pairs, each string stored as in a dynamic label key.
    Encoded { bytes: &'a [u8], count: usize },
    /// Plain pairs.
    Pairs(&'a [(&'a str, &'a str)]),
}

impl<'a> ExemplarValue<'a> {
    /// An exemplar with label `pairs`, `value`, and an optional timestamp in Unix
    /// nanoseconds; for custom collectors. Nothing is checked here: recording through
    /// [`Exemplar`](crate::Exemplar) is what enforces the 128-rune limit.
    pub fn new(
        pairs: &'a [(&'a str, &'a str)],
        value: f64,
        timestamp_unix_nanos: Option<u64>,
    ) -> Self {
        Self {
            labels: ExemplarLabelsRepr::Pairs(pairs),
            value,
            timestamp: timestamp_unix_nanos,
        }
    }

    pub(crate) fn encoded(
        bytes: &'a [u8],
        count: usize,
        value: f64,
        timestamp: Option<u64>,
    ) -> Self {
        Self {
            labels: ExemplarLabelsRepr::Encoded { bytes, count },
            value,
            timestamp,
        }
    }

    /// `(name, value)` label pairs, in the order they were recorded.
    pub fn labels(&self) -> ExemplarLabels<'a> {
        let inner = match self.labels {
            ExemplarLabelsRepr::Encoded { bytes, count } => {
                ExemplarLabelsInner::Encoded(EncodedValues::new(bytes, count * 2))
            }
            ExemplarLabelsRepr::Pairs(pairs) => ExemplarLabelsInner::Pairs(pairs.iter()),
        };
        ExemplarLabels { inner }
    }

    /// The value the exemplar recorded (an observation, or a counter increment).
    pub fn value(&self) -> f64 {
        self.value
    }

    /// When it was recorded, in nanoseconds since the Unix epoch, if the recorder said.
    pub fn timestamp_unix_nanos(&self) -> Option<u64> {
        self.timestamp
    }
}

/// Iterator over an exemplar's `(name, value)` label pairs.
#[derive(Clone, Debug)]
pub struct ExemplarLabels<'a> {
    inner: ExemplarLabelsInner<'a>,
}

#[derive(Clone, Debug)]
enum ExemplarLabelsInner<'a> {
    Encoded(EncodedValues<'a>),
    Pairs(core::slice::Iter<'a, (&'a str, &'a str)>),
}

impl<'a> Iterator for ExemplarLabels<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            ExemplarLabelsInner::Encoded(values) => Some((values.next()?, values.next()?)),
            ExemplarLabelsInner::Pairs(pairs) => pairs.next().map(|(n, v)| (*n, *v)),
        }
    }
}

/// One consistent point of a summary series: `(quantile, value)` pairs in increasing
/// quantile order, the count and the sum, and for Corral's own [`Summary`](crate::Summary)
/// the sketch they were computed from.
///
/// The sketch is what an OTLP `ExponentialHistogram` or a Prometheus native histogram is
/// built from ([`sketch`](Self::sketch)): the scale, the offset and counts of the bucket
/// row, and the counts of zeros, negatives and values outside the row, all from the same
/// read as the quantiles and count. With a sliding window its counts are the window's
/// ([`SketchSnapshot::is_windowed`]) while `count` and `sum` stay all-time.
#[derive(Clone, Copy, Debug)]
pub struct SummaryValue<'a> {
    quantiles: &'a [(f64, f64)],
    count: u64,
    sum: f64,
    sketch: Option<SketchSnapshot<'a>>,
}

impl<'a> SummaryValue<'a> {
    /// A point with `(quantile, value)` pairs, `count` observations summing to `sum`, and
    /// no sketch (for custom collectors).
    pub fn new(quantiles: &'a [(f64, f64)], count: u64, sum: f64) -> Self {
        Self {
            quantiles,
            count,
            sum,
            sketch: None,
        }
    }

    /// The same point with the sketch it was read from.
    #[must_use]
    pub fn with_sketch(mut self, sketch: SketchSnapshot<'a>) -> Self {
        self.sketch = Some(sketch);
        self
    }

    /// The sketch the point was read from, when the series keeps one.
    pub fn sketch(&self) -> Option<&SketchSnapshot<'a>> {
        self.sketch.as_ref()
    }

    /// `(quantile, value)` pairs, in increasing quantile order.
    pub fn quantiles(&self) -> &'a [(f64, f64)] {
        self.quantiles
    }

    /// The number of observations.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The sum of observations.
    pub fn sum(&self) -> f64 {
        self.sum
    }
}

/// One consistent point of a histogram series.
///
/// `counts` holds one entry per bucket (not cumulative), the last being `+Inf`; the count
/// is their sum, so the cumulative buckets never decrease and the `+Inf` bucket always
/// equals the count.
#[derive(Clone, Copy, Debug)]
pub struct HistogramValue<'a> {
    bounds: &'a [f64],
    counts: &'a [u64],
    sum: f64,
    exemplars: Exemplars<'a>,
}

/// Where a histogram point's exemplars come from.
#[derive(Clone, Copy, Debug)]
enum Exemplars<'a> {
    /// Given whole, one per bucket.
    Values(&'a [Option<ExemplarValue<'a>>]),
    /// Read from the series' slots one bucket at a time, when asked: a point does not hold
    /// a copy of every bucket's exemplar.
    Slots(&'a dyn ExemplarSlots),
}

/// A histogram series' exemplar storage, read one bucket at a time.
pub(crate) trait ExemplarSlots: core::fmt::Debug {
    /// Whether any bucket holds an exemplar.
    fn has_any(&self) -> bool;
    /// Calls `f` with a consistent read of bucket `index`'s exemplar, if it has one.
    fn read(&self, index: usize, f: &mut dyn FnMut(Option<&ExemplarValue<'_>>));
}

impl<'a> HistogramValue<'a> {
    /// A point over `bounds` (finite) with `counts` (`bounds.len() + 1` entries, not
    /// cumulative) and `sum`.
    ///
    /// # Panics
    ///
    /// If `counts.len() != bounds.len() + 1`.
    pub fn new(bounds: &'a [f64], counts: &'a [u64], sum: f64) -> Self {
        assert_eq!(
            counts.len(),
            bounds.len() + 1,
            "one count per bound plus +Inf"
        );
        Self {
            bounds,
            counts,
            sum,
            exemplars: Exemplars::Values(&[]),
        }
    }

    /// The same point with one optional exemplar per bucket (in bucket order, `+Inf`
    /// last; a shorter slice means no exemplar for the remaining buckets).
    #[must_use]
    pub fn with_exemplars(mut self, exemplars: &'a [Option<ExemplarValue<'a>>]) -> Self {
        self.exemplars = Exemplars::Values(exemplars);
        self
    }

    /// The same point with exemplars read from `slots` when asked for.
    #[must_use]
    pub(crate) fn with_exemplar_slots(mut self, slots: &'a dyn ExemplarSlots) -> Self {
        self.exemplars = Exemplars::Slots(slots);
        self
    }

    /// Whether any bucket has an exemplar.
    pub(crate) fn has_exemplars(&self) -> bool {
        match self.exemplars {
            Exemplars::Values(values) => values.iter().any(Option::is_some),
            Exemplars::Slots(slots) => slots.has_any(),
        }
    }

    /// Calls `f` with the exemplar of bucket `index` (in [`counts`](Self::counts) order),
    /// if it has one, and returns what `f` returns. An exemplar read from a series' slots
    /// is read at this call, one bucket at a time, so a point never holds a copy of each.
    pub fn with_exemplar<R>(
        &self,
        index: usize,
        f: impl FnOnce(Option<&ExemplarValue<'_>>) -> R,
    ) -> R {
        match self.exemplars {
            Exemplars::Values(values) => f(values.get(index).and_then(Option::as_ref)),
            Exemplars::Slots(slots) => {
                let (mut f, mut result) = (Some(f), None);
                slots.read(index, &mut |exemplar| {
                    if let Some(f) = f.take() {
                        result = Some(f(exemplar));
                    }
                });
                match (result, f) {
                    (Some(result), _) => result,
                    // `read` calls back exactly once; were it not to, the bucket has none.
                    (None, Some(f)) => f(None),
                    (None, None) => unreachable!("the callback ran but left no result"),
                }
            }
        }
    }

    /// The finite upper bounds.
    pub fn bounds(&self) -> &'a [f64] {
        self.bounds
    }

    /// Per-bucket counts, not cumulative; the last is the `+Inf` bucket.
    pub fn counts(&self) -> &'a [u64] {
        self.counts
    }

    /// The sum of observations.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The number of observations.
    pub fn count(&self) -> u64 {
        self.counts.iter().fold(0, |a, b| a.wrapping_add(*b))
    }

    /// `(upper bound, cumulative count)` per bucket, ending with `(+Inf, count)`.
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + 'a {
        let bounds = self
            .bounds
            .iter()
            .copied()
            .chain(core::iter::once(f64::INFINITY));
        bounds.zip(self.counts.iter().scan(0u64, |total, c| {
            *total = total.wrapping_add(*c);
            Some(*total)
        }))
    }
}

/// The labels of one series.
#[derive(Clone, Copy, Debug)]
pub struct SeriesLabels<'a> {
    names: &'a [&'a str],
    values: Values<'a>,
}

#[derive(Clone, Copy, Debug)]
enum Values<'a> {
    /// No labels.
    None,
    /// Values stored in a dynamic label table.
    Encoded(EncodedValues<'a>),
    /// A dense index into a typed label set, and the function that names its values.
    Typed {
        index: usize,
        value_of: fn(usize, usize) -> &'static str,
    },
    /// Plain strings.
    Strs(&'a [&'a str]),
    /// The family's overflow series: `otel_metric_overflow="true"` and nothing else.
    Overflow,
}

/// Names the value of label `label` in the typed label set with dense index `index`.
#[cfg_attr(feature = "small", allow(dead_code))] // only the fast paths use it
pub(crate) type ValueOf = fn(usize, usize) -> &'static str;

/// The label the overflow series carries, as the OpenTelemetry SDK specification names it.
pub const OVERFLOW_LABEL: (&str, &str) = ("otel_metric_overflow", "true");

impl<'a> SeriesLabels<'a> {
    /// A series without labels.
    pub const NONE: SeriesLabels<'static> = SeriesLabels {
        names: &[],
        values: Values::None,
    };

    /// The overflow series of a family.
    pub const OVERFLOW: SeriesLabels<'static> = SeriesLabels {
        names: &[],
        values: Values::Overflow,
    };

    /// Labels from parallel slices of names and values (the shorter one decides).
    pub fn from_pairs(names: &'a [&'a str], values: &'a [&'a str]) -> Self {
        Self {
            names,
            values: Values::Strs(values),
        }
    }

    pub(crate) fn encoded(names: &'a [&'a str], values: EncodedValues<'a>) -> Self {
        Self {
            names,
            values: Values::Encoded(values),
        }
    }

    pub(crate) fn typed(
        names: &'a [&'a str],
        index: usize,
        value_of: fn(usize, usize) -> &'static str,
    ) -> Self {
        Self {
            names,
            values: Values::Typed { index, value_of },
        }
    }

    /// The label names (empty for the overflow series, whose one label is not a name of
    /// the family's).
    #[cfg_attr(feature = "small", allow(dead_code))] // only the fast paths use it
    pub(crate) fn names(&self) -> &'a [&'a str] {
        self.names
    }

    /// The stored label values of a dynamic family's series, if that is what these are.
    #[inline]
    #[cfg_attr(feature = "small", allow(dead_code))] // only the fast paths use it
    pub(crate) fn encoded_values(&self) -> Option<EncodedValues<'a>> {
        match self.values {
            Values::Encoded(values) => Some(values),
            _ => None,
        }
    }

    /// The dense index and value function of a typed family's series, if that is what
    /// these are.
    #[inline]
    #[cfg_attr(feature = "small", allow(dead_code))] // only the fast paths use it
    pub(crate) fn typed_parts(&self) -> Option<(usize, ValueOf)> {
        match self.values {
            Values::Typed { index, value_of } => Some((index, value_of)),
            _ => None,
        }
    }

    /// Whether the label names belong to the family itself (a dynamic or typed family, or
    /// no labels), so they stay the same for the whole visit of that family; not for
    /// names a collector passed in with [`from_pairs`](Self::from_pairs).
    #[inline]
    #[cfg_attr(feature = "small", allow(dead_code))] // only the fast paths use it
    pub(crate) fn names_owned_by_family(&self) -> bool {
        !matches!(self.values, Values::Strs(_))
    }

    /// Whether this is a family's overflow series.
    pub fn is_overflow(&self) -> bool {
        matches!(self.values, Values::Overflow)
    }

    /// Whether there are no labels at all.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Calls `f` with each `(name, value bytes)` pair in declaration order, stopping at the
    /// first error. The encoders' fast path: one dispatch on the representation per series
    /// instead of one per label, and no UTF-8 check of bytes that came from a `&str`.
    #[inline]
    pub(crate) fn try_for_each_raw<E>(
        &self,
        mut f: impl FnMut(&'a str, &'a [u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        match self.values {
            Values::None => Ok(()),
            Values::Overflow => f(OVERFLOW_LABEL.0, OVERFLOW_LABEL.1.as_bytes()),
            Values::Encoded(mut values) => {
                for name in self.names {
                    match values.next_bytes() {
                        Some(value) => f(name, value)?,
                        None => break,
                    }
                }
                Ok(())
            }
            Values::Typed { index, value_of } => {
                for (at, name) in self.names.iter().enumerate() {
                    f(name, value_of(index, at).as_bytes())?;
                }
                Ok(())
            }
            Values::Strs(values) => {
                for (name, value) in self.names.iter().zip(values) {
                    f(name, value.as_bytes())?;
                }
                Ok(())
            }
        }
    }

    /// `(name, value)` pairs in declaration order.
    pub fn iter(&self) -> LabelIter<'a> {
        let inner = match self.values {
            Values::None => Inner::Done,
            Values::Overflow => Inner::Overflow(false),
            Values::Encoded(values) => Inner::Encoded(self.names.iter(), values),
            Values::Typed { index, value_of } => Inner::Typed {
                names: self.names,
                index,
                value_of,
                at: 0,
            },
            Values::Strs(values) => Inner::Strs(self.names.iter().zip(values.iter())),
        };
        LabelIter { inner }
    }
}

/// Iterator over a series' `(name, value)` label pairs.
#[derive(Debug)]
pub struct LabelIter<'a> {
    inner: Inner<'a>,
}

#[derive(Debug)]
enum Inner<'a> {
    Done,
    Overflow(bool),
    Encoded(core::slice::Iter<'a, &'a str>, EncodedValues<'a>),
    Typed {
        names: &'a [&'a str],
        index: usize,
        value_of: fn(usize, usize) -> &'static str,
        at: usize,
    },
    Strs(core::iter::Zip<core::slice::Iter<'a, &'a str>, core::slice::Iter<'a, &'a str>>),
}

impl<'a> Iterator for LabelIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Done => None,
            Inner::Overflow(done) => {
                if *done {
                    None
                } else {
                    *done = true;
                    Some(OVERFLOW_LABEL)
                }
            }
            Inner::Encoded(names, values) => Some((*names.next()?, values.next()?)),
            Inner::Typed {
                names,
                index,
                value_of,
                at,
            } => {
                let name = *names.get(*at)?;
                let value = value_of(*index, *at);
                *at += 1;
                Some((name, value))
            }
            Inner::Strs(pairs) => pairs.next().map(|(n, v)| (*n, *v)),
        }
    }
}

/// One consistent point of a native-histogram series (see
/// [`NativeHistogram`](crate::NativeHistogram)): Prometheus' sparse exponential buckets at
/// a schema, a zero bucket, the count and sum, and optionally the classic buckets kept
/// alongside.
///
/// At schema `s` the buckets have base `b = 2^(2^-s)` and positive bucket `i` covers
/// `(b^i, b^(i+1)]`; negative bucket `i` covers `[-b^(i+1), -b^i)`. The zero bucket holds
/// every observation `v` with `|v| <= zero_threshold`. [`positive`](Self::positive) and
/// [`negative`](Self::negative) yield the non-empty buckets at the schema reported by
/// [`schema`](Self::schema), which is the recorded schema lowered as far as needed to keep
/// the number of non-empty buckets within the bound given to
/// [`with_max_buckets`](Self::with_max_buckets) (each step down merges pairs of
/// neighbouring buckets, exactly as client_golang does), never below -4.
#[derive(Clone, Copy, Debug)]
pub struct NativeHistogramValue<'a> {
    schema: i32,
    reduced_by: u32,
    zero_threshold: f64,
    zero_count: u64,
    count: u64,
    sum: f64,
    positive: NativeBuckets<'a>,
    negative: NativeBuckets<'a>,
    classic: Option<HistogramValue<'a>>,
}

/// The lowest schema Prometheus accepts: base `2^16`.
pub const NATIVE_MIN_SCHEMA: i32 = -4;
/// The highest schema Prometheus accepts: base `2^(1/256)`.
pub const NATIVE_MAX_SCHEMA: i32 = 8;

impl<'a> NativeHistogramValue<'a> {
    /// A point at `schema` (clamped to `-4 ..= 8`) with `zero_count` observations in the
    /// zero bucket of `zero_threshold`, the positive and negative bucket rows, and `count`
    /// observations summing to `sum` in all (for custom collectors; Corral's own type
    /// builds it on read).
    pub fn new(
        schema: i32,
        zero_threshold: f64,
        zero_count: u64,
        positive: NativeBuckets<'a>,
        negative: NativeBuckets<'a>,
        count: u64,
        sum: f64,
    ) -> Self {
        Self {
            schema: schema.clamp(NATIVE_MIN_SCHEMA, NATIVE_MAX_SCHEMA),
            reduced_by: 0,
            zero_threshold,
            zero_count,
            count,
            sum,
            positive,
            negative,
            classic: None,
        }
    }

    /// The same point with at most `max_buckets` non-empty buckets (both signs together),
    /// lowering the schema step by step until they fit or the schema is -4; 0 means no
    /// bound.
    #[must_use]
    pub fn with_max_buckets(mut self, max_buckets: u32) -> Self {
        self.reduced_by = 0;
        if max_buckets == 0 {
            return self;
        }
        while self.schema - (self.reduced_by as i32) > NATIVE_MIN_SCHEMA {
            let used = self.positive.iter(self.reduced_by).count()
                + self.negative.iter(self.reduced_by).count();
            if used <= max_buckets as usize {
                break;
            }
            self.reduced_by += 1;
        }
        self
    }

    /// The same point with classic buckets kept alongside (rendered by the text formats).
    #[must_use]
    pub fn with_classic(mut self, classic: HistogramValue<'a>) -> Self {
        self.classic = Some(classic);
        self
    }

    /// The schema the buckets are reported at.
    pub fn schema(&self) -> i32 {
        self.schema - self.reduced_by as i32
    }

    /// The schema the buckets were recorded at (at least [`schema`](Self::schema)).
    pub fn recorded_schema(&self) -> i32 {
        self.schema
    }

    /// Observations with `|v| <= zero_threshold` go to the zero bucket.
    pub fn zero_threshold(&self) -> f64 {
        self.zero_threshold
    }

    /// Observations in the zero bucket.
    pub fn zero_count(&self) -> u64 {
        self.zero_count
    }

    /// All observations.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The sum of all observations.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// `(index, count)` of each non-empty positive bucket at [`schema`](Self::schema), by
    /// increasing index.
    pub fn positive(&self) -> NativeBucketIter<'a> {
        self.positive.iter(self.reduced_by)
    }

    /// `(index, count)` of each non-empty negative bucket at [`schema`](Self::schema), by
    /// increasing index (increasing magnitude).
    pub fn negative(&self) -> NativeBucketIter<'a> {
        self.negative.iter(self.reduced_by)
    }

    /// The classic buckets kept alongside, if the series has any.
    pub fn classic(&self) -> Option<&HistogramValue<'a>> {
        self.classic.as_ref()
    }
}

/// One sign's bucket row of a native histogram at its recorded schema: the counts of
/// buckets `offset ..`, then `over` observations beyond the row, reported in the bucket just
/// past it (index `offset + counts.len()`).
#[derive(Clone, Copy, Debug, Default)]
pub struct NativeBuckets<'a> {
    offset: i32,
    counts: &'a [u64],
    over: u64,
}

impl<'a> NativeBuckets<'a> {
    /// Bucket counts (not cumulative) of indices `offset ..`, and `over` observations
    /// counted in the bucket just past them.
    pub fn new(offset: i32, counts: &'a [u64], over: u64) -> Self {
        Self {
            offset,
            counts,
            over,
        }
    }

    fn iter(&self, shift: u32) -> NativeBucketIter<'a> {
        NativeBucketIter {
            offset: self.offset,
            counts: self.counts,
            over: self.over,
            at: 0,
            shift: shift.min(31),
        }
    }
}

/// Iterator over the non-empty buckets of one sign: `(index, count)`.
#[derive(Clone, Debug)]
pub struct NativeBucketIter<'a> {
    offset: i32,
    counts: &'a [u64],
    over: u64,
    at: usize,
    shift: u32,
}

impl Iterator for NativeBucketIter<'_> {
    type Item = (i32, u64);

    #[inline]
    fn next(&mut self) -> Option<(i32, u64)> {
        let len = self.counts.len();
        while self.at <= len {
            let coarse = self.offset.wrapping_add(self.at as i32) >> self.shift;
            let mut total = 0u64;
            while self.at <= len
                && (self.offset.wrapping_add(self.at as i32) >> self.shift) == coarse
            {
                let count = match self.counts.get(self.at) {
                    Some(count) => *count,
                    None => self.over,
                };
                total = total.wrapping_add(count);
                self.at += 1;
            }
            if total != 0 {
                return Some((coarse, total));
            }
        }
        None
    }
}
