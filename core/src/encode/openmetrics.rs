//! OpenMetrics 1.0.0 text.

use core::ops::ControlFlow;

use super::text::{Writer, openmetrics_family_name};
use super::{FamilyName, Full, Sink};
use crate::visit::{FamilyInfo, SeriesLabels, Value, Visitor};

/// A [`Visitor`] that writes OpenMetrics 1.0.0 text into a [`Sink`]: `# TYPE`, `# UNIT`,
/// `# HELP` per family (a counter family is named without `_total`), exemplars, and
/// optionally `_created` samples. The closing `# EOF` is not a family's, so the visitor
/// does not write it: [`Renderer`](super::Renderer) and [`openmetrics`](super::openmetrics)
/// do, or write it yourself after a complete visit.
///
/// Like [`PrometheusText`](super::PrometheusText), it writes each header and series whole
/// or rolls it back and breaks, and writes its last block of series when dropped.
///
/// ```
/// use corral_core::encode::{OpenMetricsText, SliceSink};
/// use corral_core::{CounterWithExemplar, Desc, Exemplar, Registry, RegistryConfig};
///
/// static REGISTRY: Registry<2> = Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
/// static SENT: CounterWithExemplar = CounterWithExemplar::new();
/// REGISTRY.register(Desc::new("sent_bytes_total", "Bytes sent").with_unit("bytes"), &SENT).unwrap();
/// SENT.inc_by_with_exemplar(512, &Exemplar::new(&[("trace_id", "0af7651916cd43dd")])).unwrap();
///
/// let mut buf = [0u8; 256];
/// let mut sink = SliceSink::new(&mut buf);
/// REGISTRY.visit(&mut OpenMetricsText::new(&mut sink).with_created_unix_nanos(1_700_000_000_500_000_000));
/// assert_eq!(
///     sink.as_str(),
///     concat!(
///         "# TYPE sent_bytes counter\n",
///         "# UNIT sent_bytes bytes\n",
///         "# HELP sent_bytes Bytes sent\n",
///         "sent_bytes_total 512 # {trace_id=\"0af7651916cd43dd\"} 512.0\n",
///         "sent_bytes_created 1700000000.5\n",
///     )
/// );
/// ```
pub struct OpenMetricsText<'s, S: Sink + ?Sized> {
    writer: Writer<'s, S>,
    created: Option<u64>,
}

impl<S: Sink + ?Sized> core::fmt::Debug for OpenMetricsText<'_, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OpenMetricsText")
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

impl<'s, S: Sink + ?Sized> OpenMetricsText<'s, S> {
    /// An encoder appending to `sink`, without `_created` samples.
    pub fn new(sink: &'s mut S) -> Self {
        Self {
            writer: Writer::new(sink),
            created: None,
        }
    }

    /// Writes `_created` samples for counters, histograms and summaries, all at
    /// `unix_nanos`: when they started counting from zero (normally the process start).
    #[must_use]
    pub fn with_created_unix_nanos(mut self, unix_nanos: u64) -> Self {
        self.created = Some(unix_nanos);
        self
    }

    /// The family whose header or series last failed to fit (empty if none did).
    pub fn failed_family(&self) -> FamilyName {
        self.writer.failed
    }
}

fn header<S: Sink + ?Sized>(w: &mut Writer<'_, S>, family: &FamilyInfo<'_>) -> Result<(), Full> {
    let name = openmetrics_family_name(family.name, family.kind).as_bytes();
    w.bytes(b"# TYPE ")?;
    w.bytes(name)?;
    w.bytes(b" ")?;
    w.bytes(family.kind.as_str().as_bytes())?;
    w.bytes(b"\n")?;
    if let Some(unit) = family.unit.filter(|u| !u.is_empty()) {
        w.bytes(b"# UNIT ")?;
        w.bytes(name)?;
        w.bytes(b" ")?;
        w.bytes(unit.as_bytes())?;
        w.bytes(b"\n")?;
    }
    if !family.help.is_empty() {
        w.bytes(b"# HELP ")?;
        w.bytes(name)?;
        w.bytes(b" ")?;
        w.escaped(family.help.as_bytes(), true)?;
        w.bytes(b"\n")?;
    }
    Ok(())
}

impl<S: Sink + ?Sized> Visitor for OpenMetricsText<'_, S> {
    fn family(&mut self, family: &FamilyInfo<'_>) -> ControlFlow<()> {
        self.writer.begin_family();
        self.writer.atomically(family, |w| header(w, family))
    }

    #[inline]
    fn series(
        &mut self,
        family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> ControlFlow<()> {
        let created = self.created;
        self.writer
            .atomically(family, |w| w.series::<true>(family, labels, value, created))
    }
}
