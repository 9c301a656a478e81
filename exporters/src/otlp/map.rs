//! One registry visit → one `ExportMetricsServiceRequest`.
//!
//! | Corral | OTLP |
//! | --- | --- |
//! | counter (`u64`, `f64`) | monotonic `Sum`, cumulative or delta; the name without `_total` |
//! | gauge (`f64`, `i64`) | `Gauge` |
//! | histogram | explicit-bound `Histogram` (bounds without `+Inf`, counts with it) |
//! | summary | `Summary`, or its sketch as an `ExponentialHistogram` where configured |
//! | exemplar | `Exemplar` with `trace_id` (16 bytes), `span_id` (8) and the other labels as `filtered_attributes` |
//! | overflow series | the boolean attribute `otel.metric.overflow = true` |
//!
//! Cumulative points all start when the [`Mapper`] was made (every series was zero then,
//! since core never resets a cell), so a series keeps one start time across exports.
//! Delta points are computed here from the cumulative cells: the mapper keeps, per
//! series, the cumulative values of the last *accepted* export in a table sized once from
//! the source's series bound. [`Mapper::collect`] stages the new values and
//! [`Mapper::commit`] (called only when the collector accepted the export) makes them the
//! baseline, so a failed export loses nothing: the next delta covers everything since the
//! last accepted one, and its start time is that export's time.
//!
//! The sketch as an `ExponentialHistogram`: `scale`, the positive bucket row (`offset`,
//! counts) as the sketch holds it, without empty buckets at either end; positive values below the row are counted in the zero
//! bucket, whose `zero_threshold` is the row's lower edge; values above the row are
//! counted in one extra bucket after it; the sketch keeps no magnitudes for negative
//! values, so they are counted in one negative bucket at the magnitude of the smallest
//! observation, and `sum` is left out whenever there were any. With a sliding window the
//! buckets (and so `count`) are the window's, and `sum`, `min` and `max`, which are
//! all-time, are left out.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::ops::ControlFlow;

use corral_core::visit::{
    ExemplarValue, FamilyInfo, MetricKind, NativeHistogramValue, SeriesLabels, SummaryValue, Value,
    Visit, Visitor,
};
use corral_std::config::Temporality;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    Summary, SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

/// The attribute the overflow series carries, as the OpenTelemetry SDK specification
/// names it.
pub const OVERFLOW_ATTRIBUTE: &str = "otel.metric.overflow";

/// Something a metric exporter can read: a registry, or anything that visits like one.
pub trait MetricSource: Send + Sync + 'static {
    /// Visits every family and series once.
    fn visit_all(&self, visitor: &mut dyn Visitor) -> Visit;

    /// The most series a visit can yield (sizes the exporter's delta table once).
    fn series_bound(&self) -> usize;
}

impl<const FAMILIES: usize> MetricSource for corral_core::Registry<FAMILIES> {
    fn visit_all(&self, visitor: &mut dyn Visitor) -> Visit {
        self.visit(visitor)
    }

    fn series_bound(&self) -> usize {
        // Every series the budget admits, one overflow series per family, and the
        // registry's own three series.
        self.config()
            .max_total_series
            .saturating_add(FAMILIES)
            .saturating_add(3)
    }
}

/// How summaries are sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SummaryChoice {
    /// Every summary with a sketch becomes an `ExponentialHistogram`.
    pub all_as_exponential: bool,
    /// These families (by name) become `ExponentialHistogram`s.
    pub families: Vec<String>,
}

impl SummaryChoice {
    fn exponential(&self, family: &str) -> bool {
        self.all_as_exponential || self.families.iter().any(|f| f == family)
    }
}

/// One collection, ready to send.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Collection {
    /// The request; `None` when there was nothing to send (no empty `ResourceMetrics` or
    /// `ScopeMetrics` is ever sent).
    pub request: Option<ExportMetricsServiceRequest>,
    /// Data points in it.
    pub points: usize,
    /// Series that found no room in the delta table (sent as cumulative-since-start
    /// deltas); 0 unless the source yields more series than its bound.
    pub untracked: usize,
}

/// The cumulative state of one series, flattened: counters and histogram buckets in
/// `ints`, sums in `float`; `offset` for a sketch's bucket row.
#[derive(Clone, Debug, Default)]
struct Cells {
    ints: Vec<u64>,
    float: f64,
    offset: i32,
}

impl Cells {
    fn set(&mut self, ints: impl Iterator<Item = u64>, float: f64, offset: i32) {
        self.ints.clear();
        self.ints.extend(ints);
        self.float = float;
        self.offset = offset;
    }
}

#[derive(Clone, Debug, Default)]
struct Slot {
    /// 0: empty.
    key: u64,
    committed: Cells,
    pending: Cells,
    /// The collection that staged `pending`.
    staged: u64,
}

/// Per-series baselines for delta temporality: open addressing, sized once.
#[derive(Debug)]
struct DeltaTable {
    slots: Vec<Slot>,
    mask: usize,
    generation: u64,
}

impl DeltaTable {
    fn new(bound: usize) -> Self {
        let size = bound.max(1).saturating_mul(2).next_power_of_two();
        Self {
            slots: vec![Slot::default(); size],
            mask: size - 1,
            generation: 1,
        }
    }

    /// The slot of `key`, claimed if new; `None` when the table is full.
    fn slot(&mut self, key: u64) -> Option<&mut Slot> {
        let key = key.max(1);
        let mut at = key as usize & self.mask;
        for _ in 0..self.slots.len() {
            let k = self.slots[at].key;
            if k == key || k == 0 {
                let slot = &mut self.slots[at];
                slot.key = key;
                return Some(slot);
            }
            at = (at + 1) & self.mask;
        }
        None
    }

    fn commit(&mut self) {
        let generation = self.generation;
        for slot in &mut self.slots {
            if slot.key != 0 && slot.staged == generation {
                core::mem::swap(&mut slot.committed, &mut slot.pending);
            }
        }
        self.generation += 1;
    }

    fn abandon(&mut self) {
        self.generation += 1;
    }
}

/// Builds OTLP requests from visits of one source; keeps what delta temporality needs.
#[derive(Debug)]
pub struct Mapper {
    resource: Resource,
    scope: InstrumentationScope,
    temporality: Temporality,
    summaries: SummaryChoice,
    start_unix_nanos: u64,
    /// Time of the last accepted collection (the start of the next delta).
    last_commit_unix_nanos: u64,
    staged_unix_nanos: u64,
    delta: Option<DeltaTable>,
}

fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

fn attributes(labels: &SeriesLabels<'_>) -> Vec<KeyValue> {
    if labels.is_overflow() {
        return vec![KeyValue {
            key: OVERFLOW_ATTRIBUTE.to_owned(),
            value: Some(AnyValue {
                value: Some(any_value::Value::BoolValue(true)),
            }),
            ..Default::default()
        }];
    }
    labels.iter().map(|(k, v)| string_kv(k, v)).collect()
}

fn hex_bytes<const N: usize>(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if text.len() != N * 2 {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(N);
    for pair in text.chunks_exact(2) {
        out.push(digit(pair[0])? << 4 | digit(pair[1])?);
    }
    Some(out)
}

/// An OTLP exemplar from a Corral one: `trace_id` and `span_id` labels (hex) become the
/// ids, every other label a filtered attribute.
fn exemplar_of(ex: &ExemplarValue<'_>, now: u64) -> Exemplar {
    let mut out = Exemplar {
        time_unix_nano: ex.timestamp_unix_nanos().unwrap_or(now),
        value: Some(exemplar::Value::AsDouble(ex.value())),
        ..Default::default()
    };
    for (name, value) in ex.labels() {
        let id = match name {
            "trace_id" => hex_bytes::<16>(value).map(|b| out.trace_id = b),
            "span_id" => hex_bytes::<8>(value).map(|b| out.span_id = b),
            _ => None,
        };
        if id.is_none() {
            out.filtered_attributes.push(string_kv(name, value));
        }
    }
    out
}

/// The unit in UCUM, as OTLP wants it, for the units Prometheus names spell out.
fn ucum(unit: &str) -> &str {
    match unit {
        "seconds" => "s",
        "milliseconds" => "ms",
        "microseconds" => "us",
        "nanoseconds" => "ns",
        "bytes" => "By",
        "ratio" => "1",
        "percent" => "%",
        other => other,
    }
}

fn series_key(family: &str, labels: &SeriesLabels<'_>) -> u64 {
    let mut h = DefaultHasher::new();
    family.hash(&mut h);
    if labels.is_overflow() {
        0xFFu8.hash(&mut h);
    }
    for (k, v) in labels.iter() {
        k.hash(&mut h);
        v.hash(&mut h);
    }
    h.finish()
}

impl Mapper {
    /// A mapper for a source of at most `series_bound` series (the delta table is sized
    /// from it, once, when `temporality` is delta). `start_unix_nanos` is the start time
    /// of every cumulative point and of the first delta.
    pub fn new(
        resource: &[(String, String)],
        temporality: Temporality,
        summaries: SummaryChoice,
        series_bound: usize,
        start_unix_nanos: u64,
    ) -> Self {
        Self {
            resource: Resource {
                attributes: resource.iter().map(|(k, v)| string_kv(k, v)).collect(),
                ..Default::default()
            },
            scope: InstrumentationScope {
                name: env!("CARGO_PKG_NAME").to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                ..Default::default()
            },
            temporality,
            summaries,
            start_unix_nanos,
            last_commit_unix_nanos: start_unix_nanos,
            staged_unix_nanos: start_unix_nanos,
            delta: (temporality == Temporality::Delta).then(|| DeltaTable::new(series_bound)),
        }
    }

    /// One visit of `source` as a request timestamped `now_unix_nanos`. With delta
    /// temporality the new cumulative values are staged; call [`commit`](Self::commit)
    /// once the collector accepted the request, or [`abandon`](Self::abandon) if it did
    /// not (a later collection then covers this one's changes too).
    pub fn collect(&mut self, source: &dyn MetricSource, now_unix_nanos: u64) -> Collection {
        let now = now_unix_nanos.max(1);
        if let Some(delta) = &mut self.delta {
            delta.abandon();
        }
        self.staged_unix_nanos = now;
        let mut visitor = Collector {
            mapper: self,
            now,
            metrics: Vec::new(),
            current: None,
            points: 0,
            untracked: 0,
        };
        let _ = source.visit_all(&mut visitor);
        let Collector {
            metrics,
            points,
            untracked,
            ..
        } = visitor;
        let request = (!metrics.is_empty()).then(|| ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(self.resource.clone()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(self.scope.clone()),
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        });
        Collection {
            request,
            points,
            untracked,
        }
    }

    /// The last collection was accepted: its values become the baseline of the next
    /// deltas, and its time their start.
    pub fn commit(&mut self) {
        if let Some(delta) = &mut self.delta {
            delta.commit();
        }
        self.last_commit_unix_nanos = self.staged_unix_nanos;
    }

    /// The last collection was not accepted: the baseline stays.
    pub fn abandon(&mut self) {
        if let Some(delta) = &mut self.delta {
            delta.abandon();
        }
    }

    fn temporality_code(&self) -> i32 {
        match self.temporality {
            Temporality::Delta => AggregationTemporality::Delta as i32,
            _ => AggregationTemporality::Cumulative as i32,
        }
    }

    fn start(&self) -> u64 {
        match self.temporality {
            Temporality::Delta => self.last_commit_unix_nanos,
            _ => self.start_unix_nanos,
        }
    }
}

struct Collector<'m> {
    mapper: &'m mut Mapper,
    now: u64,
    metrics: Vec<Metric>,
    current: Option<Metric>,
    points: usize,
    untracked: usize,
}

impl Collector<'_> {
    /// Stages `current` for the series and returns its baseline (zeros for a new series,
    /// or when there is no delta table).
    fn baseline(
        &mut self,
        family: &str,
        labels: &SeriesLabels<'_>,
        ints: &[u64],
        float: f64,
        offset: i32,
    ) -> Option<(Vec<u64>, f64, i32)> {
        let table = self.mapper.delta.as_mut()?;
        let key = series_key(family, labels);
        let generation = table.generation;
        let Some(slot) = table.slot(key) else {
            self.untracked += 1;
            return Some((Vec::new(), 0.0, offset));
        };
        slot.pending.set(ints.iter().copied(), float, offset);
        slot.staged = generation;
        Some((
            slot.committed.ints.clone(),
            slot.committed.float,
            slot.committed.offset,
        ))
    }

    fn push_number(&mut self, point: NumberDataPoint) {
        let Some(metric) = &mut self.current else {
            return;
        };
        match &mut metric.data {
            Some(metric::Data::Sum(s)) => s.data_points.push(point),
            Some(metric::Data::Gauge(g)) => g.data_points.push(point),
            _ => return,
        }
        self.points += 1;
    }

    fn counter(&mut self, family: &str, labels: &SeriesLabels<'_>, value: Value<'_>) {
        let (int, float, exemplar) = match value {
            Value::Counter(v) => (Some(v), 0.0, None),
            Value::CounterWithExemplar(v, ex) => (Some(v), 0.0, Some(ex)),
            Value::FloatCounter(v) => (None, v, None),
            _ => return,
        };
        let ints = int.map(|v| [v]);
        let value = match self.baseline(family, labels, ints.as_ref().map_or(&[], |a| a), float, 0)
        {
            None => match int {
                Some(v) => number_data_point::Value::AsInt(v as i64),
                None => number_data_point::Value::AsDouble(float),
            },
            Some((base, base_float, _)) => match int {
                Some(v) => number_data_point::Value::AsInt(
                    v.saturating_sub(base.first().copied().unwrap_or(0)) as i64,
                ),
                None => number_data_point::Value::AsDouble((float - base_float).max(0.0)),
            },
        };
        let now = self.now;
        self.push_number(NumberDataPoint {
            attributes: attributes(labels),
            start_time_unix_nano: self.mapper.start(),
            time_unix_nano: now,
            exemplars: exemplar.iter().map(|e| exemplar_of(e, now)).collect(),
            value: Some(value),
            ..Default::default()
        });
    }

    fn histogram(&mut self, family: &str, labels: &SeriesLabels<'_>, value: Value<'_>) {
        let Value::Histogram(h) = value else {
            return;
        };
        let (counts, sum) = match self.baseline(family, labels, h.counts(), h.sum(), 0) {
            None => (h.counts().to_vec(), h.sum()),
            Some((base, base_sum, _)) => (
                h.counts()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| c.saturating_sub(base.get(i).copied().unwrap_or(0)))
                    .collect(),
                h.sum() - base_sum,
            ),
        };
        let now = self.now;
        let exemplars = (0..h.counts().len())
            .filter_map(|i| h.with_exemplar(i, |e| e.map(|e| exemplar_of(e, now))))
            .collect();
        let point = HistogramDataPoint {
            attributes: attributes(labels),
            start_time_unix_nano: self.mapper.start(),
            time_unix_nano: now,
            count: counts.iter().sum(),
            sum: Some(sum),
            bucket_counts: counts,
            explicit_bounds: h.bounds().to_vec(),
            exemplars,
            ..Default::default()
        };
        if let Some(Metric {
            data: Some(metric::Data::Histogram(out)),
            ..
        }) = &mut self.current
        {
            out.data_points.push(point);
            self.points += 1;
        }
    }

    fn summary(&mut self, labels: &SeriesLabels<'_>, s: &SummaryValue<'_>) {
        let point = SummaryDataPoint {
            attributes: attributes(labels),
            start_time_unix_nano: self.mapper.start_unix_nanos,
            time_unix_nano: self.now,
            count: s.count(),
            sum: s.sum(),
            quantile_values: s
                .quantiles()
                .iter()
                .map(|&(quantile, value)| ValueAtQuantile { quantile, value })
                .collect(),
            ..Default::default()
        };
        if let Some(Metric {
            data: Some(metric::Data::Summary(out)),
            ..
        }) = &mut self.current
        {
            out.data_points.push(point);
            self.points += 1;
        }
    }

    /// A native histogram as an `ExponentialHistogram` point. Its schema is OTLP's scale,
    /// and its bucket indices are OTLP's (bucket `i` is `(base^i, base^(i+1)]`).
    ///
    /// Deltas are taken at the recorded schema, bucket by bucket (the reported schema may
    /// be lowered differently from one export to the next), then lowered to the schema
    /// this visit reports, merging neighbours as the bucket bound does.
    fn native(&mut self, family: &str, labels: &SeriesLabels<'_>, n: &NativeHistogramValue<'_>) {
        // A histogram family's metric starts as an explicit-bound histogram; a family of
        // native histograms is sent as an exponential one (a family holds one type).
        if let Some(Metric {
            data: data @ Some(metric::Data::Histogram(_)),
            ..
        }) = &mut self.current
        {
            let temporality = match data {
                Some(metric::Data::Histogram(h)) if h.data_points.is_empty() => {
                    h.aggregation_temporality
                }
                _ => return,
            };
            *data = Some(metric::Data::ExponentialHistogram(ExponentialHistogram {
                data_points: Vec::new(),
                aggregation_temporality: temporality,
            }));
        }
        let recorded = n.with_max_buckets(0);
        let lower_by = (recorded.schema() - n.schema()).clamp(0, 31) as u32;
        // One row for both signs, interleaved (positive `i` at `2i`, negative at `2i + 1`),
        // after the zero bucket: the delta table aligns one row by its first index.
        let buckets: Vec<(i64, u64)> = recorded
            .positive()
            .map(|(i, c)| (2 * i64::from(i), c))
            .chain(recorded.negative().map(|(i, c)| (2 * i64::from(i) + 1, c)))
            .collect();
        let first = buckets.iter().map(|b| b.0).min().unwrap_or(0);
        let last = buckets.iter().map(|b| b.0).max().unwrap_or(0);
        let width = usize::try_from(last - first + 1).unwrap_or(0);
        let mut cells = vec![0u64; 1 + if buckets.is_empty() { 0 } else { width }];
        cells[0] = recorded.zero_count();
        for (at, count) in &buckets {
            cells[1 + (at - first) as usize] = *count;
        }
        let offset = i32::try_from(first).unwrap_or(i32::MIN);
        let sum = match self.baseline(family, labels, &cells, n.sum(), offset) {
            None => n.sum(),
            Some((base, base_sum, base_offset)) => {
                for (i, c) in cells.iter_mut().enumerate() {
                    let j = if i == 0 {
                        Some(0)
                    } else {
                        let index = i64::from(offset) + (i as i64 - 1);
                        usize::try_from(index - i64::from(base_offset) + 1).ok()
                    };
                    *c = c.saturating_sub(j.and_then(|j| base.get(j).copied()).unwrap_or(0));
                }
                n.sum() - base_sum
            }
        };
        // Back to two rows, lowered to the reported schema: one step down merges buckets
        // `2k` and `2k + 1` into `k`, as the core's own reduction does.
        let lower = |i: i64| i >> lower_by;
        let mut positive: Vec<(i64, u64)> = Vec::new();
        let mut negative: Vec<(i64, u64)> = Vec::new();
        for (k, &count) in cells[1..].iter().enumerate() {
            if count == 0 {
                continue;
            }
            let at = first + k as i64;
            let (row, index) = if at.rem_euclid(2) == 0 {
                (&mut positive, at.div_euclid(2))
            } else {
                (&mut negative, at.div_euclid(2))
            };
            let index = lower(index);
            match row.last_mut() {
                Some((last, c)) if *last == index => *c += count,
                _ => row.push((index, count)),
            }
        }
        let dense = |row: &[(i64, u64)]| -> Option<Buckets> {
            let (start, end) = (row.first()?.0, row.last()?.0);
            let mut counts = vec![0u64; usize::try_from(end - start + 1).ok()?];
            for (i, c) in row {
                counts[(i - start) as usize] = *c;
            }
            Some(Buckets {
                offset: i32::try_from(start).unwrap_or(i32::MIN),
                bucket_counts: counts,
            })
        };
        let zero = cells[0];
        let negatives: u64 = negative.iter().map(|b| b.1).sum();
        let count = zero
            .wrapping_add(negatives)
            .wrapping_add(positive.iter().map(|b| b.1).sum::<u64>());
        let point = ExponentialHistogramDataPoint {
            attributes: attributes(labels),
            start_time_unix_nano: self.mapper.start(),
            time_unix_nano: self.now,
            count,
            // As for summaries: no sum once negative values were recorded.
            sum: (recorded.negative().next().is_none()).then_some(sum),
            scale: n.schema(),
            zero_count: zero,
            zero_threshold: n.zero_threshold(),
            positive: dense(&positive),
            negative: dense(&negative),
            ..Default::default()
        };
        if let Some(Metric {
            data: Some(metric::Data::ExponentialHistogram(out)),
            ..
        }) = &mut self.current
        {
            out.data_points.push(point);
            self.points += 1;
        }
    }

    fn exponential(&mut self, family: &str, labels: &SeriesLabels<'_>, s: &SummaryValue<'_>) {
        let Some(sketch) = s.sketch() else {
            // A summary without a sketch (a custom collector's) has no buckets to send.
            return;
        };
        let scale = sketch.scale() as i32;
        let offset = sketch.offset();
        let row = sketch.counts();
        // [zero + underflow, negative, overflow, row...]
        let cumulative: Vec<u64> = [
            sketch.zero().wrapping_add(sketch.underflow()),
            sketch.negative(),
            sketch.overflow(),
        ]
        .into_iter()
        .chain(row.iter().copied())
        .collect();
        let windowed = sketch.is_windowed();
        let (cells, sum) = match self.baseline(family, labels, &cumulative, sketch.sum(), offset) {
            None => (cumulative, sketch.sum()),
            Some((base, base_sum, base_offset)) => {
                let mut cells = cumulative;
                for (i, c) in cells.iter_mut().enumerate() {
                    // The first three are fixed; the row is aligned by bucket index.
                    let j = if i < 3 {
                        Some(i)
                    } else {
                        let index = i64::from(offset) + (i as i64 - 3);
                        usize::try_from(index - i64::from(base_offset) + 3).ok()
                    };
                    let b = j.and_then(|j| base.get(j).copied()).unwrap_or(0);
                    *c = c.saturating_sub(b);
                }
                (cells, sketch.sum() - base_sum)
            }
        };
        let (zero, negative, overflow) = (cells[0], cells[1], cells[2]);
        let mut positive: Vec<u64> = cells[3..].to_vec();
        if overflow > 0 {
            positive.push(overflow);
        }
        // Empty buckets at either end of the row are not sent.
        let leading = positive.iter().take_while(|c| **c == 0).count();
        let trailing = positive[leading..]
            .iter()
            .rev()
            .take_while(|c| **c == 0)
            .count();
        positive.truncate(positive.len() - trailing);
        positive.drain(..leading);
        let row_offset = if positive.is_empty() {
            0
        } else {
            offset.saturating_add(leading as i32)
        };
        let base = 2f64.powf(2f64.powi(-scale));
        let negatives = (negative > 0).then(|| {
            // One bucket at the magnitude of the smallest observation.
            let magnitude = sketch.min().map_or(1.0, f64::abs).max(f64::MIN_POSITIVE);
            let index = (magnitude.log2() * 2f64.powi(scale)).ceil() as i64 - 1;
            Buckets {
                offset: index.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
                bucket_counts: vec![negative],
            }
        });
        let count = zero
            .wrapping_add(negative)
            .wrapping_add(positive.iter().sum::<u64>());
        let point = ExponentialHistogramDataPoint {
            attributes: attributes(labels),
            start_time_unix_nano: self.mapper.start(),
            time_unix_nano: self.now,
            count,
            sum: (negative == 0 && sketch.negative() == 0 && !windowed).then_some(sum),
            scale,
            zero_count: zero,
            zero_threshold: if sketch.underflow() > 0 {
                base.powi(offset)
            } else {
                0.0
            },
            positive: Some(Buckets {
                offset: row_offset,
                bucket_counts: positive,
            }),
            negative: negatives,
            min: if windowed || self.mapper.delta.is_some() {
                None
            } else {
                sketch.min()
            },
            max: if windowed || self.mapper.delta.is_some() {
                None
            } else {
                sketch.max()
            },
            ..Default::default()
        };
        if let Some(Metric {
            data: Some(metric::Data::ExponentialHistogram(out)),
            ..
        }) = &mut self.current
        {
            out.data_points.push(point);
            self.points += 1;
        }
    }
}

impl Visitor for Collector<'_> {
    fn family(&mut self, family: &FamilyInfo<'_>) -> ControlFlow<()> {
        let temporality = self.mapper.temporality_code();
        let data = match family.kind {
            MetricKind::Counter => metric::Data::Sum(Sum {
                data_points: Vec::new(),
                aggregation_temporality: temporality,
                is_monotonic: true,
            }),
            MetricKind::Gauge => metric::Data::Gauge(Gauge::default()),
            MetricKind::Histogram => metric::Data::Histogram(Histogram {
                data_points: Vec::new(),
                aggregation_temporality: temporality,
            }),
            MetricKind::Summary if self.mapper.summaries.exponential(family.name) => {
                metric::Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: Vec::new(),
                    aggregation_temporality: temporality,
                })
            }
            MetricKind::Summary => metric::Data::Summary(Summary::default()),
            _ => {
                self.current = None;
                return ControlFlow::Continue(());
            }
        };
        let name = match family.kind {
            MetricKind::Counter => family.name.strip_suffix("_total").unwrap_or(family.name),
            _ => family.name,
        };
        self.current = Some(Metric {
            name: name.to_owned(),
            description: family.help.to_owned(),
            unit: family.unit.map(ucum).unwrap_or_default().to_owned(),
            data: Some(data),
            ..Default::default()
        });
        ControlFlow::Continue(())
    }

    fn series(
        &mut self,
        family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> ControlFlow<()> {
        if self.current.is_none() {
            return ControlFlow::Continue(());
        }
        let now = self.now;
        match (*value, family.kind) {
            (
                Value::Counter(_) | Value::FloatCounter(_) | Value::CounterWithExemplar(..),
                MetricKind::Counter,
            ) => self.counter(family.name, labels, *value),
            (Value::Gauge(v), _) => self.push_number(NumberDataPoint {
                attributes: attributes(labels),
                time_unix_nano: now,
                value: Some(number_data_point::Value::AsDouble(v)),
                ..Default::default()
            }),
            (Value::IntGauge(v), _) => self.push_number(NumberDataPoint {
                attributes: attributes(labels),
                time_unix_nano: now,
                value: Some(number_data_point::Value::AsInt(v)),
                ..Default::default()
            }),
            (Value::Histogram(_), _) => self.histogram(family.name, labels, *value),
            (Value::Summary(s), _) => {
                if matches!(
                    self.current.as_ref().and_then(|m| m.data.as_ref()),
                    Some(metric::Data::ExponentialHistogram(_))
                ) {
                    self.exponential(family.name, labels, &s);
                } else {
                    self.summary(labels, &s);
                }
            }
            (Value::NativeHistogram(n), _) => self.native(family.name, labels, &n),
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn family_end(&mut self, _family: &FamilyInfo<'_>) -> ControlFlow<()> {
        if let Some(metric) = self.current.take() {
            let empty = match &metric.data {
                Some(metric::Data::Sum(s)) => s.data_points.is_empty(),
                Some(metric::Data::Gauge(g)) => g.data_points.is_empty(),
                Some(metric::Data::Histogram(h)) => h.data_points.is_empty(),
                Some(metric::Data::ExponentialHistogram(h)) => h.data_points.is_empty(),
                Some(metric::Data::Summary(s)) => s.data_points.is_empty(),
                None => true,
            };
            if !empty {
                self.metrics.push(metric);
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_core::{
        Counter, CounterWithExemplar, Desc, DynamicFamily, Exemplar, FloatCounter, Gauge,
        HistogramWithExemplars, IntGauge, Registry, RegistryConfig, Summary, SummaryConfig,
    };
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";

    fn leak<T>(value: T) -> &'static T {
        Box::leak(Box::new(value))
    }

    fn registry() -> &'static Registry<16> {
        leak(Registry::with_config(
            RegistryConfig::DEFAULT
                .with_self_metrics(false)
                .with_max_series_per_metric(2),
        ))
    }

    fn metrics(c: &Collection) -> &[Metric] {
        &c.request.as_ref().expect("a request").resource_metrics[0].scope_metrics[0].metrics
    }

    fn find<'a>(c: &'a Collection, name: &str) -> &'a Data {
        metrics(c)
            .iter()
            .find(|m| m.name == name)
            .and_then(|m| m.data.as_ref())
            .unwrap_or_else(|| panic!("no metric {name}"))
    }

    fn int(p: &NumberDataPoint) -> i64 {
        match p.value {
            Some(number_data_point::Value::AsInt(v)) => v,
            ref other => panic!("not an int: {other:?}"),
        }
    }

    fn double(p: &NumberDataPoint) -> f64 {
        match p.value {
            Some(number_data_point::Value::AsDouble(v)) => v,
            ref other => panic!("not a double: {other:?}"),
        }
    }

    fn attr(kv: &[KeyValue], key: &str) -> Option<any_value::Value> {
        kv.iter()
            .find(|k| k.key == key)
            .and_then(|k| k.value.clone())
            .and_then(|v| v.value)
    }

    static BOUNDS: [f64; 2] = [1.0, 10.0];
    static LATENCY: SummaryConfig = SummaryConfig::new(0.1).with_quantiles(&[0.5, 0.99]);

    #[test]
    fn every_metric_type() {
        let r = registry();
        let jobs = leak(Counter::new());
        r.register(Desc::new("jobs_total", "Jobs"), jobs).unwrap();
        jobs.inc_by(7);
        let cost = leak(FloatCounter::new());
        r.register(Desc::new("cost_total", "Cost"), cost).unwrap();
        cost.inc_by(2.5);
        let temp = leak(Gauge::new());
        r.register(
            Desc::new("temperature_celsius", "T").with_unit("celsius"),
            temp,
        )
        .unwrap();
        temp.set(-3.5);
        let depth = leak(IntGauge::new());
        r.register(Desc::new("queue_depth", "Depth"), depth)
            .unwrap();
        depth.set(-4);
        let lat = leak(HistogramWithExemplars::<3>::new(&BOUNDS));
        r.register(
            Desc::new("latency_seconds", "Latency").with_unit("seconds"),
            lat,
        )
        .unwrap();
        lat.observe(0.5);
        lat.observe_with_exemplar(
            5.0,
            &Exemplar::new(&[("trace_id", TRACE), ("span_id", SPAN), ("user", "u1")])
                .with_timestamp_unix_nanos(42),
        )
        .unwrap();
        lat.observe(50.0);
        let sent = leak(CounterWithExemplar::new());
        r.register(Desc::new("sent_total", "Sent"), sent).unwrap();
        sent.inc_by_with_exemplar(3, &Exemplar::new(&[("trace_id", TRACE), ("span_id", SPAN)]))
            .unwrap();
        let sizes = leak(Summary::<1024>::new(LATENCY));
        r.register(Desc::new("sizes", "Sizes"), sizes).unwrap();
        let times = leak(Summary::<1024>::new(LATENCY));
        r.register(Desc::new("times", "Times"), times).unwrap();
        for v in [0.05, 0.2, 0.4, 1.0, 2.0, 4.0, 1e9] {
            sizes.observe(v);
            times.observe(v);
        }
        let paths: &'static DynamicFamily<Counter, 1, 8> = leak(DynamicFamily::new(["path"]));
        r.register(Desc::new("hits_total", "Hits"), paths).unwrap();
        for p in ["/a", "/b", "/c", "/d"] {
            paths.with_labels([p]).inc();
        }
        let empty: &'static DynamicFamily<Counter, 1, 8> = leak(DynamicFamily::new(["x"]));
        r.register(Desc::new("never_total", "Never"), empty)
            .unwrap();

        let mut m = Mapper::new(
            &[("service.name".into(), "svc".into())],
            Temporality::Cumulative,
            SummaryChoice {
                all_as_exponential: false,
                families: vec!["times".into()],
            },
            r.series_bound(),
            1_000,
        );
        let c = m.collect(r, 5_000);
        let req = c.request.as_ref().unwrap();
        assert_eq!(req.resource_metrics.len(), 1);
        let rm = &req.resource_metrics[0];
        assert_eq!(
            attr(&rm.resource.as_ref().unwrap().attributes, "service.name"),
            Some(any_value::Value::StringValue("svc".into()))
        );
        assert_eq!(
            rm.scope_metrics[0].scope.as_ref().unwrap().name,
            "corral-exporters"
        );
        assert!(
            !metrics(&c).iter().any(|m| m.name == "never"),
            "a family without series sends no metric"
        );

        let Data::Sum(s) = find(&c, "jobs") else {
            panic!()
        };
        assert!(s.is_monotonic);
        assert_eq!(
            s.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        assert_eq!(int(&s.data_points[0]), 7);
        assert_eq!(s.data_points[0].start_time_unix_nano, 1_000);
        assert_eq!(s.data_points[0].time_unix_nano, 5_000);
        let Data::Sum(s) = find(&c, "cost") else {
            panic!()
        };
        assert_eq!(double(&s.data_points[0]), 2.5);
        let Data::Gauge(g) = find(&c, "temperature_celsius") else {
            panic!()
        };
        assert_eq!(double(&g.data_points[0]), -3.5);
        assert_eq!(g.data_points[0].start_time_unix_nano, 0);
        let Data::Gauge(g) = find(&c, "queue_depth") else {
            panic!()
        };
        assert_eq!(int(&g.data_points[0]), -4);

        let lat_metric = metrics(&c)
            .iter()
            .find(|m| m.name == "latency_seconds")
            .unwrap();
        assert_eq!(lat_metric.unit, "s");
        assert_eq!(lat_metric.description, "Latency");
        let Data::Histogram(h) = find(&c, "latency_seconds") else {
            panic!()
        };
        let p = &h.data_points[0];
        assert_eq!(p.explicit_bounds, [1.0, 10.0], "no +Inf bound");
        assert_eq!(p.bucket_counts, [1, 1, 1], "counts include +Inf");
        assert_eq!(p.count, 3);
        assert_eq!(p.sum, Some(55.5));
        assert_eq!(p.exemplars.len(), 1);
        let e = &p.exemplars[0];
        assert_eq!(e.trace_id.len(), 16);
        assert_eq!(e.trace_id[..4], [0x4b, 0xf9, 0x2f, 0x35]);
        assert_eq!(e.span_id, [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]);
        assert_eq!(e.time_unix_nano, 42);
        assert_eq!(e.value, Some(exemplar::Value::AsDouble(5.0)));
        assert_eq!(
            attr(&e.filtered_attributes, "user"),
            Some(any_value::Value::StringValue("u1".into()))
        );
        assert_eq!(e.filtered_attributes.len(), 1);

        let Data::Sum(s) = find(&c, "sent") else {
            panic!()
        };
        assert_eq!(int(&s.data_points[0]), 3);
        assert_eq!(
            s.data_points[0].exemplars[0].value,
            Some(exemplar::Value::AsDouble(3.0))
        );
        assert_eq!(s.data_points[0].exemplars[0].time_unix_nano, 5_000);

        let Data::Summary(s) = find(&c, "sizes") else {
            panic!()
        };
        let p = &s.data_points[0];
        assert_eq!(p.count, 7);
        assert_eq!(p.quantile_values.len(), 2);
        assert_eq!(p.quantile_values[0].quantile, 0.5);
        assert!((p.quantile_values[0].value - 1.0).abs() < 0.02, "{p:?}");

        let Data::ExponentialHistogram(x) = find(&c, "times") else {
            panic!()
        };
        let p = &x.data_points[0];
        assert_eq!(p.scale, 6);
        let positive = p.positive.as_ref().unwrap();
        let in_buckets: u64 = positive.bucket_counts.iter().sum();
        assert_eq!(p.count, 7);
        assert_eq!(
            p.zero_count + in_buckets,
            7,
            "count = zero + positive (+ negative)"
        );
        assert_eq!(p.zero_count, 1, "0.05 is below the row (lowest 0.1)");
        assert!(
            p.zero_threshold > 0.09 && p.zero_threshold <= 0.1,
            "{}",
            p.zero_threshold
        );
        assert_eq!(
            *positive.bucket_counts.last().unwrap(),
            1,
            "1e9 above the row"
        );
        // 1.0 is the top of bucket -1 (upper-inclusive), 2.0 of bucket 63, 4.0 of 127.
        let at = |index: i32| positive.bucket_counts[(index - positive.offset) as usize];
        assert_eq!((at(-1), at(63), at(127)), (1, 1, 1));
        assert!(p.sum.is_some());
        assert_eq!(p.min, Some(0.05));
        assert_eq!(p.max, Some(1e9));

        // The overflow series: two admitted, the rest on the overflow series.
        let Data::Sum(s) = find(&c, "hits") else {
            panic!()
        };
        assert_eq!(s.data_points.len(), 3);
        let overflow: Vec<_> = s
            .data_points
            .iter()
            .filter(|p| attr(&p.attributes, OVERFLOW_ATTRIBUTE).is_some())
            .collect();
        assert_eq!(overflow.len(), 1);
        assert_eq!(
            attr(&overflow[0].attributes, OVERFLOW_ATTRIBUTE),
            Some(any_value::Value::BoolValue(true))
        );
        assert_eq!(overflow[0].attributes.len(), 1);
        assert_eq!(int(overflow[0]), 2, "nothing dropped or counted twice");
        let total: i64 = s.data_points.iter().map(int).sum();
        assert_eq!(total, 4);
        assert_eq!(c.points, s.data_points.len() + 8);

        // Cumulative: the start time stays.
        jobs.inc();
        let c2 = m.collect(r, 9_000);
        let Data::Sum(s) = find(&c2, "jobs") else {
            panic!()
        };
        assert_eq!(int(&s.data_points[0]), 8);
        assert_eq!(s.data_points[0].start_time_unix_nano, 1_000);

        // Everything as exponential histograms.
        let mut all = Mapper::new(
            &[],
            Temporality::Cumulative,
            SummaryChoice {
                all_as_exponential: true,
                families: vec![],
            },
            r.series_bound(),
            1,
        );
        let c3 = all.collect(r, 2);
        assert!(matches!(find(&c3, "sizes"), Data::ExponentialHistogram(_)));
    }

    #[test]
    fn negative_observations_leave_out_the_sum() {
        let r = registry();
        let s = leak(Summary::<1024>::new(LATENCY));
        r.register(Desc::new("deltas", "D"), s).unwrap();
        for v in [-8.0, -1.0, 2.0] {
            s.observe(v);
        }
        let mut m = Mapper::new(
            &[],
            Temporality::Cumulative,
            SummaryChoice {
                all_as_exponential: true,
                families: vec![],
            },
            r.series_bound(),
            1,
        );
        let c = m.collect(r, 2);
        let Data::ExponentialHistogram(x) = find(&c, "deltas") else {
            panic!()
        };
        let p = &x.data_points[0];
        assert_eq!(p.sum, None);
        assert_eq!(p.count, 3);
        let neg = p.negative.as_ref().unwrap();
        assert_eq!(neg.bucket_counts, [2]);
        // |min| = 8 = 2^3: the top of bucket 3 * 64 - 1.
        assert_eq!(neg.offset, 191);
    }

    #[test]
    fn native_histograms_are_exponential_histograms_and_their_deltas_add_up() {
        use corral_core::{NativeHistogram, NativeHistogramConfig};
        let r = registry();
        // Schema 0: bucket i is (2^i, 2^(i+1)]; at most three buckets of both signs, so a
        // scrape that sees four lowers the schema to -1.
        let n: &'static NativeHistogram<16, 0, 0> = leak(NativeHistogram::new(
            NativeHistogramConfig::new(0.5).with_max_buckets(3),
        ));
        r.register(Desc::new("sizes", "S"), n).unwrap();
        let mut cumulative =
            Mapper::new(&[], Temporality::Cumulative, SummaryChoice::default(), 8, 1);
        let mut delta = Mapper::new(&[], Temporality::Delta, SummaryChoice::default(), 8, 1);
        for v in [0.25, 1.5, 3.0] {
            n.observe(v);
        }
        let point = |c: &Collection| {
            let Data::ExponentialHistogram(x) = find(c, "sizes") else {
                panic!("not an exponential histogram")
            };
            x.data_points[0].clone()
        };
        let p = point(&cumulative.collect(r, 2));
        // 1.5 in (1, 2] = bucket 0, 3.0 in (2, 4] = bucket 1: two buckets, schema 0.
        assert_eq!(
            (p.scale, p.count, p.zero_count, p.zero_threshold),
            (0, 3, 1, 0.5)
        );
        let pos = p.positive.unwrap();
        assert_eq!((pos.offset, pos.bucket_counts), (0, vec![1, 1]));
        assert_eq!(p.sum, Some(4.75));
        assert!(p.negative.is_none());
        let d1 = point(&delta.collect(r, 2));
        assert_eq!(d1.positive.unwrap().bucket_counts, [1, 1]);
        delta.commit();

        n.observe(6.0); // (4, 8] = bucket 2
        n.observe(-1.5); // negative bucket 0: four buckets, lowered to schema -1
        let p = point(&cumulative.collect(r, 3));
        assert_eq!(p.scale, -1);
        let pos = p.positive.unwrap();
        // At schema -1 bucket k is (4^k, 4^(k+1)]: 1.5 and 3.0 in bucket 0, 6.0 in bucket 1.
        assert_eq!((pos.offset, pos.bucket_counts), (0, vec![2, 1]));
        assert_eq!(p.negative.unwrap().bucket_counts, [1]);
        assert_eq!(p.sum, None, "no sum once a negative value was recorded");
        let d2 = point(&delta.collect(r, 3));
        // The second interval alone, at the schema this visit reports.
        assert_eq!(d2.scale, -1);
        assert_eq!((d2.count, d2.zero_count), (2, 0));
        let pos = d2.positive.unwrap();
        assert_eq!((pos.offset, pos.bucket_counts), (1, vec![1]));
        assert_eq!(d2.negative.unwrap().bucket_counts, [1]);
        assert_eq!(d1.count + d2.count, n.count());
    }

    #[test]
    fn an_empty_registry_sends_nothing() {
        let r = registry();
        let mut m = Mapper::new(&[], Temporality::Cumulative, SummaryChoice::default(), 8, 1);
        let c = m.collect(r, 2);
        assert_eq!(c.request, None);
        assert_eq!(c.points, 0);
    }

    fn delta_sum(c: &Collection, name: &str) -> (i64, u64, u64) {
        let Data::Sum(s) = find(c, name) else {
            panic!()
        };
        assert_eq!(
            s.aggregation_temporality,
            AggregationTemporality::Delta as i32
        );
        let p = &s.data_points[0];
        (int(p), p.start_time_unix_nano, p.time_unix_nano)
    }

    #[test]
    fn two_deltas_sum_to_the_cumulative_and_a_failed_export_loses_nothing() {
        let r = registry();
        let jobs = leak(Counter::new());
        r.register(Desc::new("jobs_total", "Jobs"), jobs).unwrap();
        let lat = leak(HistogramWithExemplars::<3>::new(&BOUNDS));
        r.register(Desc::new("latency_seconds", "L"), lat).unwrap();
        let times = leak(Summary::<1024>::new(LATENCY));
        r.register(Desc::new("times", "T"), times).unwrap();
        let mut m = Mapper::new(
            &[],
            Temporality::Delta,
            SummaryChoice {
                all_as_exponential: true,
                families: vec![],
            },
            r.series_bound(),
            100,
        );

        jobs.inc_by(5);
        lat.observe(0.5);
        times.observe(2.0);
        let c1 = m.collect(r, 200);
        assert_eq!(delta_sum(&c1, "jobs"), (5, 100, 200));
        m.commit();

        jobs.inc_by(3);
        lat.observe(5.0);
        lat.observe(0.2);
        times.observe(2.0);
        times.observe(4.0);
        let c2 = m.collect(r, 300);
        assert_eq!(delta_sum(&c2, "jobs"), (3, 200, 300));
        let Data::Histogram(h) = find(&c2, "latency_seconds") else {
            panic!()
        };
        assert_eq!(h.data_points[0].bucket_counts, [1, 1, 0]);
        assert_eq!(h.data_points[0].count, 2);
        assert_eq!(h.data_points[0].sum, Some(5.2));
        assert_eq!(h.data_points[0].start_time_unix_nano, 200);
        let Data::ExponentialHistogram(x) = find(&c2, "times") else {
            panic!()
        };
        assert_eq!(x.data_points[0].count, 2);
        assert_eq!(x.data_points[0].sum, Some(6.0));
        // Two intervals of delta sum to the cumulative value.
        assert_eq!(5 + 3, jobs.get() as i64);
        // The second export failed: its changes are not lost.
        m.abandon();

        jobs.inc_by(4);
        let c3 = m.collect(r, 400);
        assert_eq!(
            delta_sum(&c3, "jobs"),
            (7, 200, 400),
            "covers since the last accepted"
        );
        let Data::Histogram(h) = find(&c3, "latency_seconds") else {
            panic!()
        };
        assert_eq!(h.data_points[0].count, 2);
        m.commit();

        let c4 = m.collect(r, 500);
        assert_eq!(delta_sum(&c4, "jobs"), (0, 400, 500));
        assert_eq!(5 + 7, jobs.get() as i64);
    }

    #[test]
    fn the_delta_table_is_sized_once_and_reports_what_does_not_fit() {
        let r = registry();
        let jobs = leak(Counter::new());
        r.register(Desc::new("jobs_total", "Jobs"), jobs).unwrap();
        let more = leak(Counter::new());
        r.register(Desc::new("more_total", "More"), more).unwrap();
        let mut m = Mapper::new(&[], Temporality::Delta, SummaryChoice::default(), 1, 0);
        jobs.inc();
        more.inc();
        let capacity = m.delta.as_ref().unwrap().slots.len();
        let c = m.collect(r, 1);
        assert_eq!(capacity, 2);
        assert_eq!(c.untracked, 0);
        assert_eq!(m.delta.as_ref().unwrap().slots.len(), capacity);
        let third = leak(Counter::new());
        r.register(Desc::new("third_total", "Third"), third)
            .unwrap();
        let c = m.collect(r, 2);
        assert_eq!(c.untracked, 1);
        assert_eq!(
            m.delta.as_ref().unwrap().slots.len(),
            capacity,
            "never grows"
        );
    }
}
