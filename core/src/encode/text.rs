//! What both text formats share: sample lines, labels, escaping, rollback.

use core::ops::ControlFlow;

use super::number;
use super::{FamilyName, Full, Sink};
use crate::metric::MetricKind;
use crate::visit::{ExemplarValue, FamilyInfo, SeriesLabels, Value};

/// Writes `text` escaped for a label value (`quotes`) or a help text, in as few sink
/// writes as possible: most strings need no escaping and go out in one.
#[inline]
pub(crate) fn write_escaped<S: Sink + ?Sized>(
    sink: &mut S,
    text: &str,
    quotes: bool,
) -> Result<(), Full> {
    let bytes = text.as_bytes();
    // A branch-free scan the compiler can vectorise; the slow path runs only when needed.
    let special = bytes.iter().fold(false, |found, &b| {
        found | (b == b'\\') | (b == b'\n') | (quotes & (b == b'"'))
    });
    if !special {
        return sink.write(bytes);
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if quotes => b"\\\"",
            _ => continue,
        };
        sink.write(&bytes[start..i])?;
        sink.write(escaped)?;
        start = i + 1;
    }
    sink.write(&bytes[start..])
}

/// The shared state of both encoders: the sink, and the family that did not fit.
pub(crate) struct Writer<'s, S: Sink + ?Sized> {
    pub(crate) sink: &'s mut S,
    pub(crate) failed: FamilyName,
}

impl<'s, S: Sink + ?Sized> Writer<'s, S> {
    pub(crate) fn new(sink: &'s mut S) -> Self {
        Self {
            sink,
            failed: FamilyName::EMPTY,
        }
    }

    /// Runs `write`; if it runs out of room, cuts the sink back to where it began, notes
    /// the family, and breaks the visit so that the next chunk starts with this item.
    #[inline]
    pub(crate) fn atomically(
        &mut self,
        family: &FamilyInfo<'_>,
        write: impl FnOnce(&mut Self) -> Result<(), Full>,
    ) -> ControlFlow<()> {
        let start = self.sink.len();
        match write(self) {
            Ok(()) => ControlFlow::Continue(()),
            Err(Full) => {
                self.sink.truncate(start);
                self.failed = FamilyName::new(family.name);
                ControlFlow::Break(())
            }
        }
    }

    #[inline]
    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> Result<(), Full> {
        self.sink.write(bytes)
    }

    #[inline]
    fn u64(&mut self, value: u64) -> Result<(), Full> {
        let mut buf = itoa::Buffer::new();
        self.sink.write(buf.format(value).as_bytes())
    }

    #[inline]
    fn i64(&mut self, value: i64) -> Result<(), Full> {
        let mut buf = itoa::Buffer::new();
        self.sink.write(buf.format(value).as_bytes())
    }

    #[inline]
    fn f64(&mut self, value: f64) -> Result<(), Full> {
        self.sink.write(number::float(value).as_bytes())
    }

    /// `{name="value",...,extra="..."}`, or nothing when there are no labels at all.
    #[inline]
    fn labels(
        &mut self,
        labels: &SeriesLabels<'_>,
        extra: Option<(&str, f64)>,
    ) -> Result<(), Full> {
        let mut open = false;
        for (name, value) in labels.iter() {
            self.bytes(if open { b"," } else { b"{" })?;
            open = true;
            self.bytes(name.as_bytes())?;
            self.bytes(b"=\"")?;
            write_escaped(self.sink, value, true)?;
            self.bytes(b"\"")?;
        }
        if let Some((name, value)) = extra {
            self.bytes(if open { b"," } else { b"{" })?;
            open = true;
            self.bytes(name.as_bytes())?;
            self.bytes(b"=\"")?;
            self.f64(value)?;
            self.bytes(b"\"")?;
        }
        if open {
            self.bytes(b"}")?;
        }
        Ok(())
    }

    /// The start of a sample line: `name[suffix]{labels} `.
    #[inline]
    fn head(
        &mut self,
        name: &str,
        suffix: &str,
        labels: &SeriesLabels<'_>,
        extra: Option<(&str, f64)>,
    ) -> Result<(), Full> {
        self.bytes(name.as_bytes())?;
        self.bytes(suffix.as_bytes())?;
        self.labels(labels, extra)?;
        self.bytes(b" ")
    }

    /// ` # {labels} value [timestamp]` (OpenMetrics).
    fn exemplar(&mut self, exemplar: &ExemplarValue<'_>) -> Result<(), Full> {
        self.bytes(b" # {")?;
        for (i, (name, value)) in exemplar.labels().enumerate() {
            if i > 0 {
                self.bytes(b",")?;
            }
            self.bytes(name.as_bytes())?;
            self.bytes(b"=\"")?;
            write_escaped(self.sink, value, true)?;
            self.bytes(b"\"")?;
        }
        self.bytes(b"} ")?;
        self.f64(exemplar.value())?;
        if let Some(ts) = exemplar.timestamp_unix_nanos() {
            self.bytes(b" ")?;
            self.bytes(number::timestamp(ts).as_bytes())?;
        }
        Ok(())
    }

    /// `name_created{labels} <seconds>` (OpenMetrics).
    fn created(
        &mut self,
        base: &str,
        labels: &SeriesLabels<'_>,
        created: Option<u64>,
    ) -> Result<(), Full> {
        if let Some(ts) = created {
            self.head(base, "_created", labels, None)?;
            self.bytes(number::timestamp(ts).as_bytes())?;
            self.bytes(b"\n")?;
        }
        Ok(())
    }

    /// Every sample line of one series. `OPENMETRICS` selects counter naming, exemplars
    /// and `_created`.
    pub(crate) fn series<const OPENMETRICS: bool>(
        &mut self,
        family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
        created: Option<u64>,
    ) -> Result<(), Full> {
        let name = family.name;
        match *value {
            Value::Counter(total) => {
                self.counter_head::<OPENMETRICS>(name, labels)?;
                self.u64(total)?;
                self.bytes(b"\n")?;
                self.counter_created::<OPENMETRICS>(name, labels, created)
            }
            Value::CounterWithExemplar(total, exemplar) => {
                self.counter_head::<OPENMETRICS>(name, labels)?;
                self.u64(total)?;
                if OPENMETRICS {
                    self.exemplar(&exemplar)?;
                }
                self.bytes(b"\n")?;
                self.counter_created::<OPENMETRICS>(name, labels, created)
            }
            Value::FloatCounter(total) => {
                self.counter_head::<OPENMETRICS>(name, labels)?;
                self.f64(total)?;
                self.bytes(b"\n")?;
                self.counter_created::<OPENMETRICS>(name, labels, created)
            }
            Value::Gauge(v) => {
                self.head(name, "", labels, None)?;
                self.f64(v)?;
                self.bytes(b"\n")
            }
            Value::IntGauge(v) => {
                self.head(name, "", labels, None)?;
                self.i64(v)?;
                self.bytes(b"\n")
            }
            Value::Histogram(h) => {
                for (index, (le, count)) in h.cumulative().enumerate() {
                    self.head(name, "_bucket", labels, Some(("le", le)))?;
                    self.u64(count)?;
                    if OPENMETRICS && let Some(exemplar) = h.exemplar(index) {
                        self.exemplar(&exemplar)?;
                    }
                    self.bytes(b"\n")?;
                }
                self.head(name, "_sum", labels, None)?;
                self.f64(h.sum())?;
                self.bytes(b"\n")?;
                self.head(name, "_count", labels, None)?;
                self.u64(h.count())?;
                self.bytes(b"\n")?;
                if OPENMETRICS {
                    self.created(name, labels, created)?;
                }
                Ok(())
            }
            Value::Summary(s) => {
                for &(quantile, v) in s.quantiles() {
                    self.head(name, "", labels, Some(("quantile", quantile)))?;
                    self.f64(v)?;
                    self.bytes(b"\n")?;
                }
                self.head(name, "_sum", labels, None)?;
                self.f64(s.sum())?;
                self.bytes(b"\n")?;
                self.head(name, "_count", labels, None)?;
                self.u64(s.count())?;
                self.bytes(b"\n")?;
                if OPENMETRICS {
                    self.created(name, labels, created)?;
                }
                Ok(())
            }
        }
    }

    /// A counter sample's name: as registered in the Prometheus format; in OpenMetrics the
    /// family name plus `_total` (which is the registered name, since the registry requires
    /// counters to end in `_total`).
    #[inline]
    fn counter_head<const OPENMETRICS: bool>(
        &mut self,
        name: &str,
        labels: &SeriesLabels<'_>,
    ) -> Result<(), Full> {
        let suffix = if OPENMETRICS && !name.ends_with("_total") {
            "_total"
        } else {
            ""
        };
        self.head(name, suffix, labels, None)
    }

    #[inline]
    fn counter_created<const OPENMETRICS: bool>(
        &mut self,
        name: &str,
        labels: &SeriesLabels<'_>,
        created: Option<u64>,
    ) -> Result<(), Full> {
        if OPENMETRICS {
            self.created(
                openmetrics_family_name(name, MetricKind::Counter),
                labels,
                created,
            )?;
        }
        Ok(())
    }
}

/// The OpenMetrics family name: a counter's name without `_total`.
pub(crate) fn openmetrics_family_name(name: &str, kind: MetricKind) -> &str {
    match kind {
        MetricKind::Counter => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    }
}
