//! The Prometheus text exposition format 0.0.4.

use core::ops::ControlFlow;

use super::text::Writer;
use super::{FamilyName, Full, Sink};
use crate::visit::{FamilyInfo, SeriesLabels, Value, Visitor};

/// A [`Visitor`] that writes the Prometheus text format 0.0.4 into a [`Sink`].
///
/// Each family header and each series is written whole or not at all: when the sink runs
/// out of room the visitor rolls back the partial item and breaks, so the visit can resume
/// there with an emptied sink. [`Renderer`](super::Renderer) drives it that way. The
/// visitor gathers series and writes them to the sink in blocks; the last block goes out
/// when the visitor is dropped, so read the sink after that.
///
/// ```
/// use corral_core::encode::{PrometheusText, SliceSink};
/// use corral_core::{Desc, Gauge, Registry, RegistryConfig, Visit};
///
/// static REGISTRY: Registry<2> = Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
/// static QUEUE: Gauge = Gauge::new();
/// REGISTRY.register(Desc::new("queue_depth", "Items\nwaiting"), &QUEUE).unwrap();
/// QUEUE.set(1.5e6);
///
/// let mut buf = [0u8; 128];
/// let mut sink = SliceSink::new(&mut buf);
/// assert_eq!(REGISTRY.visit(&mut PrometheusText::new(&mut sink)), Visit::Complete);
/// assert_eq!(sink.as_str(), "# HELP queue_depth Items\\nwaiting\n# TYPE queue_depth gauge\nqueue_depth 1.5e+06\n");
/// ```
pub struct PrometheusText<'s, S: Sink + ?Sized> {
    writer: Writer<'s, S>,
}

impl<S: Sink + ?Sized> core::fmt::Debug for PrometheusText<'_, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PrometheusText").finish_non_exhaustive()
    }
}

impl<'s, S: Sink + ?Sized> PrometheusText<'s, S> {
    /// An encoder appending to `sink`.
    pub fn new(sink: &'s mut S) -> Self {
        Self {
            writer: Writer::new(sink),
        }
    }

    /// The family whose header or series last failed to fit (empty if none did).
    pub fn failed_family(&self) -> FamilyName {
        self.writer.failed
    }
}

fn header<S: Sink + ?Sized>(w: &mut Writer<'_, S>, family: &FamilyInfo<'_>) -> Result<(), Full> {
    let name = family.name.as_bytes();
    if !family.help.is_empty() {
        w.bytes(b"# HELP ")?;
        w.bytes(name)?;
        w.bytes(b" ")?;
        w.escaped(family.help.as_bytes(), false)?;
        w.bytes(b"\n")?;
    }
    w.bytes(b"# TYPE ")?;
    w.bytes(name)?;
    w.bytes(b" ")?;
    w.bytes(family.kind.as_str().as_bytes())?;
    w.bytes(b"\n")
}

impl<S: Sink + ?Sized> Visitor for PrometheusText<'_, S> {
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
        self.writer
            .atomically(family, |w| w.series::<false>(family, labels, value, None))
    }
}
