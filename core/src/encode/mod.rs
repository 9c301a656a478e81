//! Text exposition: Prometheus text format 0.0.4 and OpenMetrics 1.0.0, into any byte sink,
//! with no allocation, in one piece or in resumable chunks.
//!
//! Both encoders are [`Visitor`]s over the registry's one traversal. They write into a
//! [`Sink`]: a fixed buffer ([`SliceSink`], or `heapless::Vec<u8, N>` with the `heapless`
//! feature), or, through `corral-std`, a `Vec<u8>` or any `io::Write`.
//!
//! ```
//! use corral_core::encode::{self, SliceSink};
//! use corral_core::{Counter, Desc, Registry, RegistryConfig};
//!
//! static REGISTRY: Registry<4> = Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
//! static EVENTS: Counter = Counter::new();
//! REGISTRY.register(Desc::new("events_total", "Events received"), &EVENTS).unwrap();
//! EVENTS.inc_by(3);
//!
//! let mut buf = [0u8; 256];
//! let mut sink = SliceSink::new(&mut buf);
//! encode::prometheus(&REGISTRY, &mut sink).unwrap();
//! assert_eq!(
//!     sink.as_str(),
//!     concat!(
//!         "# HELP events_total Events received\n",
//!         "# TYPE events_total counter\n",
//!         "events_total 3\n",
//!     )
//! );
//!
//! let mut sink = SliceSink::new(&mut buf);
//! encode::openmetrics(&REGISTRY, &mut sink).unwrap();
//! assert_eq!(
//!     sink.as_str(),
//!     concat!(
//!         "# TYPE events counter\n",
//!         "# HELP events Events received\n",
//!         "events_total 3\n",
//!         "# EOF\n",
//!     )
//! );
//! ```
//!
//! ## Chunks
//!
//! A registry larger than the buffer is rendered by a [`Renderer`], one buffer-full at a
//! time: each chunk holds whole series only (a series that does not fit is rolled back and
//! starts the next chunk), and the chunks concatenate to exactly the one-shot output. A
//! single series, or family header, that does not fit an *empty* buffer is an error
//! ([`EncodeError::TooLarge`]), never an endless loop.
//!
//! ```
//! use corral_core::encode::{Progress, Renderer, SliceSink};
//! use corral_core::{Counter, Desc, DynamicFamily, Registry, RegistryConfig};
//!
//! static REGISTRY: Registry<4> = Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
//! static REQUESTS: DynamicFamily<Counter, 1, 16> = DynamicFamily::new(["path"]);
//! REGISTRY.register(Desc::new("requests_total", "Requests by path"), &REQUESTS).unwrap();
//! for path in ["/a", "/b", "/c", "/d"] {
//!     REQUESTS.with_labels([path]).inc();
//! }
//!
//! let mut out = Vec::new(); // stands in for a socket
//! let mut renderer = Renderer::prometheus();
//! let mut buf = [0u8; 96];
//! loop {
//!     let mut sink = SliceSink::new(&mut buf);
//!     let progress = renderer.render_chunk(&REGISTRY, &mut sink).unwrap();
//!     assert!(sink.as_bytes().len() <= 96);
//!     out.extend_from_slice(sink.as_bytes());
//!     if progress == Progress::Done {
//!         break;
//!     }
//! }
//! let text = String::from_utf8(out).unwrap();
//! assert!(text.starts_with("# HELP requests_total Requests by path\n# TYPE requests_total counter\n"));
//! assert_eq!(text.lines().filter(|l| l.starts_with("requests_total{")).count(), 4);
//! ```
//!
//! ## Rules
//!
//! - `# HELP` (skipped when the help text is empty) and `# TYPE` once per family, in
//!   registration order; OpenMetrics writes `# TYPE`, `# UNIT` (when declared), `# HELP`
//!   and names a counter family without its `_total`, which only its samples carry.
//! - A family with no series yet (a dynamic family before its first label set) still gets
//!   its metadata lines: both formats allow a family without samples, and a scraper then
//!   learns the family exists.
//! - Escaping: help text `\\` and `\n` (OpenMetrics also `\"`); label values `\\`, `\"`,
//!   `\n`. Everything else is written as the UTF-8 it is.
//! - Numbers: see [`number`](self#numbers) below; `u64` counters exactly up to `u64::MAX`.
//! - Histograms: cumulative `_bucket{le="..."}` through `+Inf`, then `_sum` and `_count`;
//!   summaries: `{quantile="..."}` samples, then `_sum` and `_count`.
//! - OpenMetrics only: exemplars on counters and buckets, optional `_created` lines
//!   ([`Renderer::with_created_unix_nanos`]), and the closing `# EOF`.
//!
//! ## Numbers
//!
//! Unsigned counts (counter values, bucket counts) are written eight digits at a time by a
//! word-wide conversion checked against `itoa`, and gauges' `i64`s by `itoa`. Floats are
//! written in OpenMetrics' canonical form in both formats: the shortest decimal that reads
//! back as the same `f64` (digits from `zmij`), laid out like Go's `%g` (`0.001`, `1e-05`,
//! `1e+06`), with `.0` appended to whole numbers (`1.0`, `100000.0`); `+Inf`, `-Inf`,
//! `NaN`. One layout for both formats keeps `le` and `quantile` label values, which
//! Prometheus compares as strings, the same whichever format a scraper negotiates.

#[cfg(feature = "small")]
mod compact;
mod number;
mod openmetrics;
mod prometheus;
mod protobuf;
mod text;

use core::fmt;

use crate::Registry;
use crate::visit::{Cursor, Visit, Visitor};

pub use openmetrics::OpenMetricsText;
pub use prometheus::PrometheusText;
pub use protobuf::ProtobufEncoder;

/// The `Content-Type` of the Prometheus text format 0.0.4.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The `Content-Type` of OpenMetrics 1.0.0 text.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `Content-Type` of the Prometheus protobuf exposition.
pub const PROTOBUF_CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// The sink had no room for the bytes; nothing was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the render buffer is full")
    }
}

impl core::error::Error for Full {}

/// Where rendered bytes go: an append-only byte buffer that can be cut back, so that a
/// series that does not fit is rolled back whole.
pub trait Sink {
    /// Appends all of `bytes`, or nothing and `Err(Full)` when they do not fit.
    ///
    /// # Errors
    ///
    /// [`Full`] when there is no room for all of `bytes`.
    fn write(&mut self, bytes: &[u8]) -> Result<(), Full>;

    /// Bytes held.
    fn len(&self) -> usize;

    /// Whether nothing is held.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cuts the contents back to their first `len` bytes (no effect if `len` is larger).
    fn truncate(&mut self, len: usize);

    /// How many more bytes the sink is sure to accept, if it knows (a fixed buffer does).
    /// Encoders then gather several series before writing them in one go; with `None`
    /// they write every series as soon as it is complete.
    fn remaining(&self) -> Option<usize> {
        None
    }

    /// The bytes held, for an encoder to patch in place, if the sink keeps them (a buffer
    /// does; a sink that streams bytes on cannot). The protobuf encoder uses it to write a
    /// family's length in front of the family once it is complete; without it, it writes
    /// each series as a family of its own.
    fn written_mut(&mut self) -> Option<&mut [u8]> {
        None
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> Result<(), Full> {
        (**self).write(bytes)
    }

    #[inline]
    fn len(&self) -> usize {
        (**self).len()
    }

    #[inline]
    fn truncate(&mut self, len: usize) {
        (**self).truncate(len);
    }

    #[inline]
    fn remaining(&self) -> Option<usize> {
        (**self).remaining()
    }

    #[inline]
    fn written_mut(&mut self) -> Option<&mut [u8]> {
        (**self).written_mut()
    }
}

/// A [`Sink`] over a fixed byte buffer, filled from the start.
///
/// ```
/// use corral_core::encode::{Sink, SliceSink};
///
/// let mut buf = [0u8; 8];
/// let mut sink = SliceSink::new(&mut buf);
/// sink.write(b"abc").unwrap();
/// assert!(sink.write(b"defghi").is_err()); // would not fit: nothing written
/// assert_eq!(sink.as_bytes(), b"abc");
/// ```
#[derive(Debug)]
pub struct SliceSink<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> SliceSink<'a> {
    /// An empty sink over `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// The bytes written.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The bytes written, as text. The encoders write whole UTF-8 series only, so this is
    /// everything written unless a caller wrote other bytes.
    pub fn as_str(&self) -> &str {
        match core::str::from_utf8(self.as_bytes()) {
            Ok(text) => text,
            Err(e) => {
                // Only bytes a caller wrote itself can be invalid: show the valid prefix.
                let valid = &self.as_bytes()[..e.valid_up_to()];
                core::str::from_utf8(valid).unwrap_or_default()
            }
        }
    }

    /// Bytes the buffer holds in all.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Forgets what was written, keeping the buffer.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl Sink for SliceSink<'_> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> Result<(), Full> {
        let end = self.len + bytes.len();
        match self.buf.get_mut(self.len..end) {
            Some(dest) => {
                dest.copy_from_slice(bytes);
                self.len = end;
                Ok(())
            }
            None => Err(Full),
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    #[inline]
    fn remaining(&self) -> Option<usize> {
        Some(self.buf.len() - self.len)
    }

    #[inline]
    fn written_mut(&mut self) -> Option<&mut [u8]> {
        Some(&mut self.buf[..self.len])
    }
}

#[cfg(feature = "heapless")]
impl<const N: usize> Sink for heapless::Vec<u8, N> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> Result<(), Full> {
        // `extend_from_slice` checks the room first and writes nothing when it is short.
        self.extend_from_slice(bytes).map_err(|_| Full)
    }

    #[inline]
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    #[inline]
    fn truncate(&mut self, len: usize) {
        heapless::Vec::truncate(self, len);
    }

    #[inline]
    fn remaining(&self) -> Option<usize> {
        Some(N - self.as_slice().len())
    }

    #[inline]
    fn written_mut(&mut self) -> Option<&mut [u8]> {
        Some(self.as_mut_slice())
    }
}

/// Something an encoder can walk: a [`Registry`], or anything else that drives a
/// [`Visitor`] and can resume from a [`Cursor`].
pub trait Source {
    /// Visits from `cursor`; see [`Registry::visit_from`].
    fn visit_from<V: Visitor + ?Sized>(&self, cursor: Cursor, visitor: &mut V) -> Visit;
}

impl<const FAMILIES: usize> Source for Registry<FAMILIES> {
    #[inline]
    fn visit_from<V: Visitor + ?Sized>(&self, cursor: Cursor, visitor: &mut V) -> Visit {
        Registry::visit_from(self, cursor, visitor)
    }
}

impl<T: Source + ?Sized> Source for &T {
    #[inline]
    fn visit_from<V: Visitor + ?Sized>(&self, cursor: Cursor, visitor: &mut V) -> Visit {
        (**self).visit_from(cursor, visitor)
    }
}

/// A family name carried by an error, cut to 64 bytes (at a character boundary).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FamilyName {
    bytes: [u8; 64],
    len: u8,
    cut: bool,
}

impl FamilyName {
    pub(crate) const EMPTY: FamilyName = FamilyName {
        bytes: [0; 64],
        len: 0,
        cut: false,
    };

    pub(crate) fn new(name: &str) -> Self {
        let mut end = name.len().min(64);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; 64];
        bytes[..end].copy_from_slice(&name.as_bytes()[..end]);
        Self {
            bytes,
            len: end as u8,
            cut: end < name.len(),
        }
    }

    /// The name (its first 64 bytes).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Debug for FamilyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for FamilyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())?;
        if self.cut {
            f.write_str("…")?;
        }
        Ok(())
    }
}

/// Why rendering stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// One series (or the family's header, or the closing `# EOF`) of `family` is larger
    /// than the whole, empty, buffer: no chunk size this small can ever hold it.
    TooLarge {
        /// The family whose series did not fit (empty for `# EOF`).
        family: FamilyName,
    },
    /// A one-shot render did not fit the sink, which holds the whole series written
    /// before the first one that did not fit. Use a larger buffer, or a [`Renderer`]'s
    /// chunks.
    BufferFull {
        /// Bytes written.
        written: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooLarge { family } if family.as_str().is_empty() => f.write_str(
                "the render buffer cannot hold even the closing `# EOF` line; use a larger buffer",
            ),
            EncodeError::TooLarge { family } => write!(
                f,
                "one series of `{family}` is larger than the whole render buffer; use a larger buffer"
            ),
            EncodeError::BufferFull { written } => write!(
                f,
                "the exposition does not fit the render buffer ({written} bytes of whole series \
                 written); use a larger buffer or render in chunks with a Renderer"
            ),
        }
    }
}

impl core::error::Error for EncodeError {}

/// The two text formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Prometheus text exposition format 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0.0 text.
    OpenMetrics,
    /// The Prometheus protobuf exposition: length-delimited `io.prometheus.client.MetricFamily`
    /// messages ([`protobuf()`], [`ProtobufEncoder`]).
    Protobuf,
}

impl Format {
    /// The HTTP `Content-Type` of the format.
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => PROMETHEUS_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Format::Protobuf => PROTOBUF_CONTENT_TYPE,
        }
    }
}

/// How far a [`Renderer`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The sink is full (or nearly): send its contents, empty it, and call again.
    More,
    /// The exposition is complete.
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Visit,
    Eof,
    Done,
}

/// Renders a source in one or more chunks, remembering where the last chunk stopped.
///
/// It holds no buffer and no reference: a few words of state that can live anywhere.
#[derive(Clone, Copy, Debug)]
pub struct Renderer {
    format: Format,
    created: Option<u64>,
    cursor: Cursor,
    stage: Stage,
}

impl Renderer {
    /// A renderer for `format`.
    pub const fn new(format: Format) -> Self {
        Self {
            format,
            created: None,
            cursor: Cursor::START,
            stage: Stage::Visit,
        }
    }

    /// A Prometheus text 0.0.4 renderer.
    pub const fn prometheus() -> Self {
        Self::new(Format::Prometheus)
    }

    /// An OpenMetrics 1.0.0 renderer.
    pub const fn openmetrics() -> Self {
        Self::new(Format::OpenMetrics)
    }

    /// A Prometheus protobuf renderer.
    pub const fn protobuf() -> Self {
        Self::new(Format::Protobuf)
    }

    /// Adds a `_created` sample to every counter, histogram and summary series (OpenMetrics
    /// only): `unix_nanos` is when they started counting from zero, normally the process
    /// start (the std adapter knows it).
    #[must_use]
    pub const fn with_created_unix_nanos(mut self, unix_nanos: u64) -> Self {
        self.created = Some(unix_nanos);
        self
    }

    /// The format.
    pub const fn format(&self) -> Format {
        self.format
    }

    /// Whether the whole exposition has been rendered.
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Starts over, for the next scrape.
    pub fn reset(&mut self) {
        self.cursor = Cursor::START;
        self.stage = Stage::Visit;
    }

    /// Appends as many whole series as fit to `sink`, continuing where the previous chunk
    /// stopped. Empty the sink between calls.
    ///
    /// # Errors
    ///
    /// [`EncodeError::TooLarge`] when the next series does not fit even though the sink
    /// was empty: no retry can succeed.
    // In the size-oriented configuration it is inlined, so that a caller whose renderer's
    // format is known (`Renderer::prometheus()`) links that format's encoder only.
    #[cfg_attr(feature = "small", inline(always))]
    pub fn render_chunk<R: Source + ?Sized, S: Sink + ?Sized>(
        &mut self,
        source: &R,
        sink: &mut S,
    ) -> Result<Progress, EncodeError> {
        let start = sink.len();
        if self.stage == Stage::Visit {
            let (visit, failed) = match self.format {
                Format::Prometheus => {
                    let mut visitor = PrometheusText::new(&mut *sink);
                    let visit = source.visit_from(self.cursor, &mut visitor);
                    (visit, visitor.failed_family())
                }
                Format::OpenMetrics => {
                    let mut visitor = OpenMetricsText::new(&mut *sink);
                    if let Some(created) = self.created {
                        visitor = visitor.with_created_unix_nanos(created);
                    }
                    let visit = source.visit_from(self.cursor, &mut visitor);
                    (visit, visitor.failed_family())
                }
                Format::Protobuf => {
                    let mut visitor = ProtobufEncoder::new(&mut *sink);
                    let visit = source.visit_from(self.cursor, &mut visitor);
                    (visit, visitor.failed_family())
                }
            };
            match visit {
                Visit::Complete => {
                    self.stage = match self.format {
                        Format::Prometheus | Format::Protobuf => Stage::Done,
                        Format::OpenMetrics => Stage::Eof,
                    };
                }
                Visit::Paused(cursor) => {
                    self.cursor = cursor;
                    if start == 0 && sink.is_empty() {
                        return Err(EncodeError::TooLarge { family: failed });
                    }
                    return Ok(Progress::More);
                }
            }
        }
        if self.stage == Stage::Eof {
            if sink.write(b"# EOF\n").is_err() {
                if sink.is_empty() {
                    return Err(EncodeError::TooLarge {
                        family: FamilyName::EMPTY,
                    });
                }
                return Ok(Progress::More);
            }
            self.stage = Stage::Done;
        }
        Ok(Progress::Done)
    }

    /// Renders everything that is left into `sink` in one go.
    ///
    /// # Errors
    ///
    /// [`EncodeError::BufferFull`] if it does not all fit (the sink keeps the whole series
    /// that did; calling again continues after them), [`EncodeError::TooLarge`] as for
    /// [`render_chunk`](Self::render_chunk).
    pub fn render<R: Source + ?Sized, S: Sink + ?Sized>(
        &mut self,
        source: &R,
        sink: &mut S,
    ) -> Result<(), EncodeError> {
        match self.render_chunk(source, sink)? {
            Progress::Done => Ok(()),
            Progress::More => Err(EncodeError::BufferFull {
                written: sink.len(),
            }),
        }
    }
}

/// Renders `source` in the Prometheus text format 0.0.4, appending to `sink`.
///
/// # Errors
///
/// [`EncodeError::BufferFull`] when it does not fit (see [`Renderer::render`]).
pub fn prometheus<R: Source + ?Sized, S: Sink + ?Sized>(
    source: &R,
    sink: &mut S,
) -> Result<(), EncodeError> {
    Renderer::prometheus().render(source, sink)
}

/// Renders `source` as OpenMetrics 1.0.0 text (ending with `# EOF`), appending to `sink`.
///
/// # Errors
///
/// [`EncodeError::BufferFull`] when it does not fit (see [`Renderer::render`]).
pub fn openmetrics<R: Source + ?Sized, S: Sink + ?Sized>(
    source: &R,
    sink: &mut S,
) -> Result<(), EncodeError> {
    Renderer::openmetrics().render(source, sink)
}

/// Renders `source` in the Prometheus protobuf exposition (length-delimited
/// `io.prometheus.client.MetricFamily` messages), appending to `sink`.
///
/// # Errors
///
/// [`EncodeError::BufferFull`] when it does not fit (see [`Renderer::render`]).
pub fn protobuf<R: Source + ?Sized, S: Sink + ?Sized>(
    source: &R,
    sink: &mut S,
) -> Result<(), EncodeError> {
    Renderer::protobuf().render(source, sink)
}
