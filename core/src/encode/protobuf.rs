//! The Prometheus protobuf exposition: see [`ProtobufEncoder`].

use core::ops::ControlFlow;

use super::{FamilyName, Full, Sink};
use crate::value::{
    ExemplarValue, HistogramValue, MetricKind, NativeBucketIter, NativeHistogramValue, SummaryValue,
};
use crate::visit::{FamilyInfo, SeriesLabels, Value, Visitor};

/// Room left for a family's length: five varint bytes hold any length below 32 GiB.
const LENGTH_ROOM: usize = 5;

/// Wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const BYTES: u8 = 2;

const fn key(field: u8, wire: u8) -> u8 {
    (field << 3) | wire
}

/// Bytes of `v` as a varint.
#[inline(always)]
const fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Bytes of a length-delimited field (one-byte key) whose content is `len` bytes.
#[inline(always)]
const fn field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

const fn zigzag32(v: i32) -> u64 {
    ((v << 1) ^ (v >> 31)) as u32 as u64
}

const fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// A double field: key and eight bytes.
const DOUBLE_LEN: usize = 9;

/// Writes protobuf fields into a sink.
struct Out<'a, S: Sink + ?Sized>(&'a mut S);

impl<S: Sink + ?Sized> Out<'_, S> {
    #[inline(always)]
    fn bytes(&mut self, bytes: &[u8]) -> Result<(), Full> {
        self.0.write(bytes)
    }

    /// `v` as a varint, after the key byte `key` if there is one, in one write.
    #[inline(always)]
    fn keyed_varint(&mut self, key: Option<u8>, mut v: u64) -> Result<(), Full> {
        let mut buf = [0u8; 11];
        let mut n = 0;
        if let Some(key) = key {
            buf[0] = key;
            n = 1;
        }
        while v >= 0x80 {
            buf[n] = (v as u8) | 0x80;
            v >>= 7;
            n += 1;
        }
        buf[n] = v as u8;
        self.bytes(&buf[..=n])
    }

    #[inline(always)]
    fn varint(&mut self, v: u64) -> Result<(), Full> {
        self.keyed_varint(None, v)
    }

    #[inline(always)]
    fn key_varint(&mut self, field: u8, v: u64) -> Result<(), Full> {
        self.keyed_varint(Some(key(field, VARINT)), v)
    }

    #[inline(always)]
    fn double(&mut self, field: u8, v: f64) -> Result<(), Full> {
        let mut buf = [0u8; DOUBLE_LEN];
        buf[0] = key(field, FIXED64);
        buf[1..].copy_from_slice(&v.to_le_bytes());
        self.bytes(&buf)
    }

    /// The key and length of a length-delimited field.
    #[inline(always)]
    fn open(&mut self, field: u8, len: usize) -> Result<(), Full> {
        self.keyed_varint(Some(key(field, BYTES)), len as u64)
    }

    #[inline(always)]
    fn string(&mut self, field: u8, bytes: &[u8]) -> Result<(), Full> {
        self.open(field, bytes.len())?;
        self.bytes(bytes)
    }
}

/// `LabelPair` content of one label.
#[inline(always)]
const fn pair_len(name: &[u8], value: &[u8]) -> usize {
    field_len(name.len()) + field_len(value.len())
}

fn labels_len(labels: &SeriesLabels<'_>) -> usize {
    let mut len = 0;
    let _ = labels.try_for_each_raw::<()>(|name, value| {
        len += field_len(pair_len(name.as_bytes(), value));
        Ok(())
    });
    len
}

fn write_labels<S: Sink + ?Sized>(
    out: &mut Out<'_, S>,
    labels: &SeriesLabels<'_>,
) -> Result<(), Full> {
    labels.try_for_each_raw(|name, value| {
        out.open(1, pair_len(name.as_bytes(), value))?;
        out.string(1, name.as_bytes())?;
        out.string(2, value)
    })
}

/// `Timestamp` content for Unix nanoseconds.
fn timestamp_parts(nanos: u64) -> (u64, u64) {
    (nanos / 1_000_000_000, nanos % 1_000_000_000)
}

fn timestamp_len(nanos: u64) -> usize {
    let (seconds, nanos) = timestamp_parts(nanos);
    let mut len = 0;
    if seconds != 0 {
        len += 1 + varint_len(seconds);
    }
    if nanos != 0 {
        len += 1 + varint_len(nanos);
    }
    len
}

fn exemplar_len(exemplar: &ExemplarValue<'_>) -> usize {
    let mut len = DOUBLE_LEN;
    for (name, value) in exemplar.labels() {
        len += field_len(pair_len(name.as_bytes(), value.as_bytes()));
    }
    if let Some(ts) = exemplar.timestamp_unix_nanos() {
        len += field_len(timestamp_len(ts));
    }
    len
}

fn write_exemplar<S: Sink + ?Sized>(
    out: &mut Out<'_, S>,
    field: u8,
    exemplar: &ExemplarValue<'_>,
) -> Result<(), Full> {
    out.open(field, exemplar_len(exemplar))?;
    for (name, value) in exemplar.labels() {
        out.open(1, pair_len(name.as_bytes(), value.as_bytes()))?;
        out.string(1, name.as_bytes())?;
        out.string(2, value.as_bytes())?;
    }
    out.double(2, exemplar.value())?;
    if let Some(ts) = exemplar.timestamp_unix_nanos() {
        out.open(3, timestamp_len(ts))?;
        let (seconds, nanos) = timestamp_parts(ts);
        if seconds != 0 {
            out.key_varint(1, seconds)?;
        }
        if nanos != 0 {
            out.key_varint(2, nanos)?;
        }
    }
    Ok(())
}

/// Calls `span(offset, length)` for each span and `delta(d)` for each bucket of a native
/// bucket row, in order; gaps of one or two empty buckets are carried inside a span.
#[inline]
fn walk(buckets: NativeBucketIter<'_>, mut span: impl FnMut(i32, u32), mut delta: impl FnMut(i64)) {
    let mut previous: Option<i32> = None;
    let mut span_offset = 0i32;
    let mut span_length = 0u32;
    let mut last = 0i64;
    for (index, count) in buckets {
        let count = count as i64;
        match previous {
            None => {
                span_offset = index;
                span_length = 1;
            }
            Some(p) => {
                let gap = index.wrapping_sub(p).wrapping_sub(1);
                if gap <= 2 {
                    for _ in 0..gap {
                        delta(-last);
                        last = 0;
                    }
                    span_length += gap as u32 + 1;
                } else {
                    span(span_offset, span_length);
                    span_offset = gap;
                    span_length = 1;
                }
            }
        }
        delta(count.wrapping_sub(last));
        last = count;
        previous = Some(index);
    }
    if previous.is_some() {
        span(span_offset, span_length);
    }
}

const fn span_len(offset: i32, length: u32) -> usize {
    2 + varint_len(zigzag32(offset)) + varint_len(length as u64)
}

/// Bytes of one sign's spans (fields included) and of its packed deltas (content only).
fn row_len(buckets: NativeBucketIter<'_>) -> (usize, usize) {
    let mut spans = 0;
    let mut deltas = 0;
    walk(
        buckets,
        |offset, length| spans += field_len(span_len(offset, length)),
        |d| deltas += varint_len(zigzag64(d)),
    );
    (spans, deltas)
}

fn write_row<S: Sink + ?Sized>(
    out: &mut Out<'_, S>,
    span_field: u8,
    delta_field: u8,
    buckets: NativeBucketIter<'_>,
    deltas_len: usize,
) -> Result<(), Full> {
    let mut result = Ok(());
    walk(
        buckets.clone(),
        |offset, length| {
            if result.is_ok() {
                result = out
                    .open(span_field, span_len(offset, length))
                    .and_then(|()| {
                        out.key_varint(1, zigzag32(offset))?;
                        out.key_varint(2, u64::from(length))
                    });
            }
        },
        |_| {},
    );
    result?;
    if deltas_len > 0 {
        out.open(delta_field, deltas_len)?;
        walk(
            buckets,
            |_, _| {},
            |d| {
                if result.is_ok() {
                    result = out.varint(zigzag64(d));
                }
            },
        );
    }
    result
}

/// Content bytes of the classic buckets of `h`, all but `+Inf`.
fn classic_len(h: &HistogramValue<'_>) -> usize {
    let mut len = 0;
    let finite = h.bounds().len();
    for (at, (_, cumulative)) in h.cumulative().take(finite).enumerate() {
        let mut bucket = 1 + varint_len(cumulative) + DOUBLE_LEN;
        if let Some(exemplar) = h.with_exemplar(at, |e| e.map(exemplar_len)) {
            bucket += field_len(exemplar);
        }
        len += field_len(bucket);
    }
    len
}

fn write_classic<S: Sink + ?Sized>(
    out: &mut Out<'_, S>,
    h: &HistogramValue<'_>,
) -> Result<(), Full> {
    let finite = h.bounds().len();
    for (at, (bound, cumulative)) in h.cumulative().take(finite).enumerate() {
        // The bucket's exemplar is read once, into this frame (see `with_exemplar`).
        h.with_exemplar(at, |exemplar| {
            let mut bucket = 1 + varint_len(cumulative) + DOUBLE_LEN;
            if let Some(exemplar) = exemplar {
                bucket += field_len(exemplar_len(exemplar));
            }
            out.open(3, bucket)?;
            out.key_varint(1, cumulative)?;
            out.double(2, bound)?;
            if let Some(exemplar) = exemplar {
                write_exemplar(out, 3, exemplar)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Sizes of a native histogram's parts: spans and packed deltas of each sign.
struct NativeLens {
    negative: (usize, usize),
    positive: (usize, usize),
}

/// The no-op span `{offset: 0, length: 0}`, field and content.
const NOOP_SPAN: [u8; 6] = [key(12, BYTES), 4, key(1, VARINT), 0, key(2, VARINT), 0];

fn native_len(n: &NativeHistogramValue<'_>) -> (usize, NativeLens) {
    let negative = row_len(n.negative());
    let positive = row_len(n.positive());
    let mut len = 1 + varint_len(n.count()) + DOUBLE_LEN;
    if let Some(classic) = n.classic() {
        len += classic_len(classic);
    }
    len += 1 + varint_len(zigzag32(n.schema())) + DOUBLE_LEN + 1 + varint_len(n.zero_count());
    len += negative.0;
    if negative.1 > 0 {
        len += field_len(negative.1);
    }
    len += positive.0;
    if positive.1 > 0 {
        len += field_len(positive.1);
    }
    if negative.0 == 0 && positive.0 == 0 {
        len += NOOP_SPAN.len();
    }
    (len, NativeLens { negative, positive })
}

fn write_native<S: Sink + ?Sized>(
    out: &mut Out<'_, S>,
    n: &NativeHistogramValue<'_>,
    lens: &NativeLens,
) -> Result<(), Full> {
    out.key_varint(1, n.count())?;
    out.double(2, n.sum())?;
    if let Some(classic) = n.classic() {
        write_classic(out, classic)?;
    }
    out.key_varint(5, zigzag32(n.schema()))?;
    out.double(6, n.zero_threshold())?;
    out.key_varint(7, n.zero_count())?;
    write_row(out, 9, 10, n.negative(), lens.negative.1)?;
    write_row(out, 12, 13, n.positive(), lens.positive.1)?;
    if lens.negative.0 == 0 && lens.positive.0 == 0 {
        out.bytes(&NOOP_SPAN)?;
    }
    Ok(())
}

fn summary_len(s: &SummaryValue<'_>) -> usize {
    1 + varint_len(s.count()) + DOUBLE_LEN + s.quantiles().len() * field_len(2 * DOUBLE_LEN)
}

/// What a metric's value part is, sized.
enum Part<'v, 'a> {
    Counter(f64, Option<&'v ExemplarValue<'a>>),
    Gauge(f64),
    Summary(&'v SummaryValue<'a>),
    Histogram(&'v HistogramValue<'a>),
    Native(&'v NativeHistogramValue<'a>, NativeLens),
}

/// The value part of a `Metric` and its content bytes.
fn part<'v, 'a>(kind: MetricKind, value: &'v Value<'a>) -> (Part<'v, 'a>, u8, usize) {
    let scalar = |v: f64| -> (Part<'v, 'a>, u8, usize) {
        if kind == MetricKind::Counter {
            (Part::Counter(v, None), 3, DOUBLE_LEN)
        } else {
            (Part::Gauge(v), 2, DOUBLE_LEN)
        }
    };
    match value {
        Value::Counter(v) => scalar(*v as f64),
        Value::FloatCounter(v) | Value::Gauge(v) => scalar(*v),
        Value::IntGauge(v) => scalar(*v as f64),
        Value::CounterWithExemplar(v, exemplar) => {
            if kind == MetricKind::Counter {
                let len = DOUBLE_LEN + field_len(exemplar_len(exemplar));
                (Part::Counter(*v as f64, Some(exemplar)), 3, len)
            } else {
                scalar(*v as f64)
            }
        }
        Value::Summary(s) => (Part::Summary(s), 4, summary_len(s)),
        Value::Histogram(h) => {
            let len = 1 + varint_len(h.count()) + DOUBLE_LEN + classic_len(h);
            (Part::Histogram(h), 7, len)
        }
        Value::NativeHistogram(n) => {
            let (len, lens) = native_len(n);
            (Part::Native(n, lens), 7, len)
        }
    }
}

fn write_part<S: Sink + ?Sized>(out: &mut Out<'_, S>, part: &Part<'_, '_>) -> Result<(), Full> {
    match part {
        Part::Counter(v, exemplar) => {
            out.double(1, *v)?;
            if let Some(exemplar) = exemplar {
                write_exemplar(out, 2, exemplar)?;
            }
            Ok(())
        }
        Part::Gauge(v) => out.double(1, *v),
        Part::Summary(s) => {
            out.key_varint(1, s.count())?;
            out.double(2, s.sum())?;
            for &(q, v) in s.quantiles() {
                out.open(3, 2 * DOUBLE_LEN)?;
                out.double(1, q)?;
                out.double(2, v)?;
            }
            Ok(())
        }
        Part::Histogram(h) => {
            out.key_varint(1, h.count())?;
            out.double(2, h.sum())?;
            write_classic(out, h)
        }
        Part::Native(n, lens) => write_native(out, n, lens),
    }
}

/// The protobuf `MetricType` of a family kind.
const fn metric_type(kind: MetricKind) -> u64 {
    match kind {
        MetricKind::Counter => 0,
        MetricKind::Gauge => 1,
        MetricKind::Summary => 2,
        MetricKind::Histogram => 4,
    }
}

/// Content bytes of a family's fields other than its metrics.
fn header_len(family: &FamilyInfo<'_>) -> usize {
    let mut len = field_len(family.name.len()) + 2;
    if !family.help.is_empty() {
        len += field_len(family.help.len());
    }
    len
}

fn write_header<S: Sink + ?Sized>(
    out: &mut Out<'_, S>,
    family: &FamilyInfo<'_>,
) -> Result<(), Full> {
    out.string(1, family.name.as_bytes())?;
    if !family.help.is_empty() {
        out.string(2, family.help.as_bytes())?;
    }
    out.key_varint(3, metric_type(family.kind))
}

/// The Prometheus protobuf exposition: length-delimited `io.prometheus.client.MetricFamily`
/// messages (Prometheus' `metrics.proto`), written by hand as varints and fixed-width
/// fields into a [`Sink`], with no allocation and no generated code.
///
/// ## Messages written
///
/// | message | fields written |
/// | --- | --- |
/// | `MetricFamily` | `name` (1), `help` (2, when not empty), `type` (3), `metric` (4) |
/// | `Metric` | `label` (1), then one of `gauge` (2), `counter` (3), `summary` (4), `histogram` (7) |
/// | `LabelPair` | `name` (1), `value` (2) |
/// | `Counter` | `value` (1), `exemplar` (2) |
/// | `Gauge` | `value` (1) |
/// | `Summary` | `sample_count` (1), `sample_sum` (2), `quantile` (3: `quantile` 1, `value` 2) |
/// | `Histogram` | `sample_count` (1), `sample_sum` (2), classic `bucket` (3: `cumulative_count` 1, `upper_bound` 2, `exemplar` 3), and for native histograms `schema` (5), `zero_threshold` (6), `zero_count` (7), `negative_span` (9), `negative_delta` (10), `positive_span` (12), `positive_delta` (13) |
/// | `Exemplar` | `label` (1), `value` (2), `timestamp` (3: `seconds` 1, `nanos` 2) |
///
/// A counter or gauge family's scalar values are written as its kind says. Classic buckets
/// are cumulative and omit `+Inf` (it is `sample_count`), as client_golang writes them.
/// Native buckets go as spans and deltas: a span per run of buckets, with runs separated by
/// at most two empty buckets joined into one (their deltas bring the count to 0 and back),
/// as client_golang does. A native histogram with no bucket gets the no-op span
/// `{offset: 0, length: 0}` the format asks for. Deltas are written packed, which every
/// protobuf parser reads for repeated scalars.
///
/// ## Lengths without a buffer
///
/// Each `Metric` is sized before it is written (its point is already in hand). A family's
/// length, which spans series read one after another, is written when the family is done:
/// the encoder leaves five bytes in front of it and, at the end, writes the varint there
/// and moves the family down over the unused ones, through [`Sink::written_mut`]. A sink
/// that cannot hand back its bytes gets one `MetricFamily` per series instead, each sized
/// up front. A chunked render that stops inside a family closes the message there and
/// opens another with the same name, help and type in the next chunk; Prometheus reads
/// consecutive messages of one family as one family.
///
/// ```
/// use corral_core::encode::{self, SliceSink};
/// use corral_core::{Counter, Desc, Registry, RegistryConfig};
///
/// static REGISTRY: Registry<4> = Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
/// static EVENTS: Counter = Counter::new();
/// REGISTRY.register(Desc::new("events_total", "Events"), &EVENTS).unwrap();
/// EVENTS.inc_by(3);
///
/// let mut buf = [0u8; 64];
/// let mut sink = SliceSink::new(&mut buf);
/// encode::protobuf(&REGISTRY, &mut sink).unwrap();
/// assert_eq!(
///     sink.as_bytes(),
///     &[
///         37, // the family's length
///         0x0a, 12, b'e', b'v', b'e', b'n', b't', b's', b'_', b't', b'o', b't', b'a', b'l',
///         0x12, 6, b'E', b'v', b'e', b'n', b't', b's',
///         0x18, 0, // type COUNTER
///         0x22, 11, 0x1a, 9, 0x09, 0, 0, 0, 0, 0, 0, 8, 64, // metric { counter { value 3.0 } }
///     ][..]
/// );
/// ```
///
/// A family without series is not written, as client_golang's gatherer drops it.
pub struct ProtobufEncoder<'s, S: Sink + ?Sized> {
    sink: &'s mut S,
    /// Where the open family's length room starts.
    open: Option<usize>,
    failed: FamilyName,
}

impl<S: Sink + ?Sized> core::fmt::Debug for ProtobufEncoder<'_, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ProtobufEncoder")
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

impl<'s, S: Sink + ?Sized> ProtobufEncoder<'s, S> {
    /// An encoder appending to `sink`.
    pub fn new(sink: &'s mut S) -> Self {
        Self {
            sink,
            open: None,
            failed: FamilyName::EMPTY,
        }
    }

    /// The family whose series last failed to fit (empty if none did).
    pub fn failed_family(&self) -> FamilyName {
        self.failed
    }

    /// Writes the open family's length in its room and closes the gap after it.
    fn close(&mut self) {
        let Some(at) = self.open.take() else {
            return;
        };
        let end = self.sink.len();
        let content = end - at - LENGTH_ROOM;
        let used = varint_len(content as u64);
        if let Some(bytes) = self.sink.written_mut() {
            bytes.copy_within(at + LENGTH_ROOM..end, at + used);
            let mut v = content as u64;
            for byte in &mut bytes[at..at + used] {
                *byte = (v as u8 & 0x7f) | if v >= 0x80 { 0x80 } else { 0 };
                v >>= 7;
            }
        }
        self.sink.truncate(end - (LENGTH_ROOM - used));
    }

    fn write_series(
        &mut self,
        family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> Result<(), Full> {
        let (part, field, part_len) = part(family.kind, value);
        let metric_len = labels_len(labels) + field_len(part_len);
        let patch = self.sink.written_mut().is_some();
        if patch && self.open.is_none() {
            self.open = Some(self.sink.len());
            let mut out = Out(&mut *self.sink);
            out.bytes(&[0; LENGTH_ROOM])?;
            write_header(&mut out, family)?;
        }
        let mut out = Out(&mut *self.sink);
        if !patch {
            out.varint((header_len(family) + field_len(metric_len)) as u64)?;
            write_header(&mut out, family)?;
        }
        out.open(4, metric_len)?;
        write_labels(&mut out, labels)?;
        out.open(field, part_len)?;
        write_part(&mut out, &part)
    }
}

impl<S: Sink + ?Sized> Visitor for ProtobufEncoder<'_, S> {
    fn series(
        &mut self,
        family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> ControlFlow<()> {
        let start = self.sink.len();
        let opened_here = self.open.is_none();
        if self.write_series(family, labels, value).is_ok() {
            return ControlFlow::Continue(());
        }
        // Roll the series back; a family opened for it goes too, one opened before is
        // closed here and reopened by the next chunk.
        self.sink.truncate(start);
        if opened_here {
            self.open = None;
        } else {
            self.close();
        }
        self.failed = FamilyName::new(family.name);
        ControlFlow::Break(())
    }

    fn family_end(&mut self, _family: &FamilyInfo<'_>) -> ControlFlow<()> {
        self.close();
        ControlFlow::Continue(())
    }
}
