//! Text exposition into std's buffers: a `Vec<u8>` that grows (up to a bound), and any
//! `io::Write` fed in fixed-size chunks.
//!
//! The encoders themselves live in [`corral_core::encode`]; this module only adds sinks
//! that need std.
//!
//! ```
//! use corral_core::encode::{Format, Renderer};
//! use corral_core::{Counter, Desc, Registry, RegistryConfig};
//! use corral_std::encode::{VecSink, write_chunked};
//!
//! static REGISTRY: Registry<4> = Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
//! static EVENTS: Counter = Counter::new();
//! REGISTRY.register(Desc::new("events_total", "Events"), &EVENTS).unwrap();
//! EVENTS.inc();
//!
//! // Into a Vec that is reused between scrapes (no allocation once it has grown).
//! let mut body = Vec::new();
//! Renderer::prometheus().render(&REGISTRY, &mut VecSink::new(&mut body)).unwrap();
//! assert_eq!(body, b"# HELP events_total Events\n# TYPE events_total counter\nevents_total 1\n");
//!
//! // Into any writer, through a fixed 4 KiB buffer.
//! let mut out = Vec::new();
//! let mut scratch = [0u8; 4096];
//! let written = write_chunked(&REGISTRY, Renderer::new(Format::OpenMetrics), &mut out, &mut scratch).unwrap();
//! assert_eq!(written, out.len());
//! assert!(out.ends_with(b"# EOF\n"));
//! ```

use std::io;

use corral_core::encode::{EncodeError, Full, Progress, Renderer, Sink, SliceSink, Source};

/// A [`Sink`] that appends to a `Vec<u8>`, growing it up to `limit` bytes in all
/// (unbounded by default). Past the limit it reports [`Full`], so a one-shot render fails
/// with [`EncodeError::BufferFull`] instead of growing without end.
#[derive(Debug)]
pub struct VecSink<'a> {
    vec: &'a mut Vec<u8>,
    limit: usize,
}

impl<'a> VecSink<'a> {
    /// Appends to `vec` without a limit.
    pub fn new(vec: &'a mut Vec<u8>) -> Self {
        Self {
            vec,
            limit: usize::MAX,
        }
    }

    /// Appends to `vec` until it holds `limit` bytes.
    pub fn with_limit(vec: &'a mut Vec<u8>, limit: usize) -> Self {
        Self { vec, limit }
    }
}

impl Sink for VecSink<'_> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> Result<(), Full> {
        if bytes.len() > self.limit.saturating_sub(self.vec.len()) {
            return Err(Full);
        }
        self.vec.extend_from_slice(bytes);
        Ok(())
    }

    #[inline]
    fn len(&self) -> usize {
        self.vec.len()
    }

    #[inline]
    fn truncate(&mut self, len: usize) {
        self.vec.truncate(len);
    }

    #[inline]
    fn remaining(&self) -> Option<usize> {
        Some(self.limit.saturating_sub(self.vec.len()))
    }

    #[inline]
    fn written_mut(&mut self) -> Option<&mut [u8]> {
        Some(self.vec.as_mut_slice())
    }
}

/// Renders `source` with `renderer` into `writer`, one `scratch`-sized chunk at a time, and
/// returns the bytes written. Memory use is `scratch`, whatever the registry's size.
///
/// # Errors
///
/// The writer's error, or an [`io::ErrorKind::InvalidInput`] error carrying the
/// [`EncodeError`] when one series does not fit `scratch`.
pub fn write_chunked<R: Source + ?Sized, W: io::Write + ?Sized>(
    source: &R,
    mut renderer: Renderer,
    writer: &mut W,
    scratch: &mut [u8],
) -> io::Result<usize> {
    let mut written = 0;
    loop {
        let mut sink = SliceSink::new(scratch);
        let progress = renderer
            .render_chunk(source, &mut sink)
            .map_err(|e: EncodeError| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        writer.write_all(sink.as_bytes())?;
        written += sink.as_bytes().len();
        if progress == Progress::Done {
            return Ok(written);
        }
    }
}
