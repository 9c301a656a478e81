//! Rendering and compressing one scrape, on the blocking pool, into buffers that are
//! reused between scrapes.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use corral_core::Registry;
use corral_core::encode::{EncodeError, Format, Renderer, Source};
use corral_core::visit::{Cursor, FamilyInfo, SeriesLabels, Value, Visit, Visitor};
use corral_std::encode::VecSink;
use flate2::{Compress, Compression, Crc, FlushCompress, Status};

use super::negotiate::Coding;

/// A registry, with its `FAMILIES` erased, that renders itself into a `Vec`.
pub(crate) trait RenderSource: Send + Sync + 'static {
    fn render(
        &self,
        format: Format,
        names: &[String],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), EncodeError>;
}

impl<const FAMILIES: usize> RenderSource for Registry<FAMILIES> {
    fn render(
        &self,
        format: Format,
        names: &[String],
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), EncodeError> {
        render_names(self, format, names, out, limit)
    }
}

/// Renders the families of `source` registered under one of `names` (every family when
/// `names` is empty) into `out`, at most `limit` bytes: what a scrape with `name[]`
/// parameters gets (the fuzz target `name_filter` checks it).
///
/// # Errors
///
/// An [`EncodeError`] when the body would pass `limit`.
#[doc(hidden)]
pub fn render_names<R: Source>(
    source: &R,
    format: Format,
    names: &[String],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), EncodeError> {
    let mut sink = VecSink::with_limit(out, limit);
    let mut renderer = Renderer::new(format);
    if names.is_empty() {
        renderer.render(source, &mut sink)
    } else {
        renderer.render(&Filtered { source, names }, &mut sink)
    }
}

/// The families of `source` whose registered name is one of `names` (client_golang's
/// `name[]`), everything else skipped.
struct Filtered<'a, R> {
    source: &'a R,
    names: &'a [String],
}

impl<R: Source> Source for Filtered<'_, R> {
    fn visit_from<V: Visitor + ?Sized>(&self, cursor: Cursor, visitor: &mut V) -> Visit {
        self.source.visit_from(
            cursor,
            &mut FilterVisitor {
                inner: visitor,
                names: self.names,
            },
        )
    }
}

struct FilterVisitor<'a, V: ?Sized> {
    inner: &'a mut V,
    names: &'a [String],
}

impl<V: Visitor + ?Sized> FilterVisitor<'_, V> {
    fn wanted(&self, family: &FamilyInfo<'_>) -> bool {
        self.names.iter().any(|n| n == family.name)
    }
}

impl<V: Visitor + ?Sized> Visitor for FilterVisitor<'_, V> {
    fn family(&mut self, family: &FamilyInfo<'_>) -> std::ops::ControlFlow<()> {
        if self.wanted(family) {
            self.inner.family(family)
        } else {
            std::ops::ControlFlow::Continue(())
        }
    }

    fn series(
        &mut self,
        family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> std::ops::ControlFlow<()> {
        if self.wanted(family) {
            self.inner.series(family, labels, value)
        } else {
            std::ops::ControlFlow::Continue(())
        }
    }

    fn family_end(&mut self, family: &FamilyInfo<'_>) -> std::ops::ControlFlow<()> {
        if self.wanted(family) {
            self.inner.family_end(family)
        } else {
            std::ops::ControlFlow::Continue(())
        }
    }
}

/// What one scrape renders into: the body, its compressed form and the compressors'
/// state, all kept between scrapes.
pub(crate) struct Buffers {
    body: Vec<u8>,
    coded: Vec<u8>,
    gzip: Compress,
    #[cfg(feature = "zstd")]
    zstd: Option<zstd::bulk::Compressor<'static>>,
    /// Which of `body` and `coded` the response is.
    send_coded: bool,
}

impl Buffers {
    fn new() -> Self {
        Self {
            body: Vec::new(),
            coded: Vec::new(),
            // Level 1, as client_golang's `gzip.BestSpeed`: a scrape body compresses
            // about as well at 1 as at 6, in a fraction of the time.
            gzip: Compress::new(Compression::fast(), false),
            #[cfg(feature = "zstd")]
            zstd: None,
            send_coded: false,
        }
    }

    /// Renders `source` and codes it as asked.
    pub(crate) fn fill(
        &mut self,
        source: &dyn RenderSource,
        format: Format,
        names: &[String],
        coding: Coding,
        limit: usize,
    ) -> Result<(), FillError> {
        self.body.clear();
        self.coded.clear();
        self.send_coded = false;
        source
            .render(format, names, &mut self.body, limit)
            .map_err(FillError::Encode)?;
        match coding {
            Coding::Identity => {}
            Coding::Gzip => {
                gzip(&mut self.gzip, &self.body, &mut self.coded).map_err(FillError::Compress)?;
                self.send_coded = true;
            }
            Coding::Zstd => {
                #[cfg(feature = "zstd")]
                {
                    let compressor = match &mut self.zstd {
                        Some(c) => c,
                        slot => slot
                            .insert(zstd::bulk::Compressor::new(1).map_err(FillError::Compress)?),
                    };
                    self.coded
                        .reserve(zstd::zstd_safe::compress_bound(self.body.len()));
                    compressor
                        .compress_to_buffer(&self.body, &mut self.coded)
                        .map_err(FillError::Compress)?;
                    self.send_coded = true;
                }
            }
        }
        Ok(())
    }

    /// The bytes to send.
    pub(crate) fn response(&self) -> &[u8] {
        if self.send_coded {
            &self.coded
        } else {
            &self.body
        }
    }
}

/// Why a scrape has no body.
#[derive(Debug)]
pub(crate) enum FillError {
    Encode(EncodeError),
    Compress(io::Error),
}

/// gzip (RFC 1952) around raw deflate from a reused compressor: flate2's `GzEncoder` owns
/// its compressor and drops it with each body, which would allocate its state (hundreds
/// of KiB) on every scrape.
fn gzip(compress: &mut Compress, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    // Magic, deflate, no flags, no mtime, no extra flags, OS unknown.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    compress.reset();
    let mut consumed = 0;
    loop {
        if out.capacity() - out.len() < 4096 {
            out.reserve(out.capacity().max(input.len() / 4).max(4096));
        }
        let before = compress.total_in();
        let status = compress
            .compress_vec(&input[consumed..], out, FlushCompress::Finish)
            .map_err(io::Error::other)?;
        consumed += usize::try_from(compress.total_in() - before).map_err(io::Error::other)?;
        if status == Status::StreamEnd {
            break;
        }
    }
    let mut crc = Crc::new();
    crc.update(input);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE is the length modulo 2^32.
    out.extend_from_slice(&(input.len() as u32).to_le_bytes());
    Ok(())
}

/// Buffers for scrapes, at most `keep` of them kept for reuse.
#[derive(Debug)]
pub(crate) struct Pool {
    free: Mutex<Vec<Buffers>>,
    keep: usize,
}

impl std::fmt::Debug for Buffers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buffers")
            .field("body_capacity", &self.body.capacity())
            .field("coded_capacity", &self.coded.capacity())
            .finish_non_exhaustive()
    }
}

impl Pool {
    pub(crate) fn new(keep: usize) -> Arc<Self> {
        Arc::new(Self {
            free: Mutex::new(Vec::with_capacity(keep)),
            keep,
        })
    }

    /// Buffers from the pool, or new ones when all are out.
    pub(crate) fn take(self: &Arc<Self>) -> Pooled {
        let buffers = self
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_else(Buffers::new);
        Pooled {
            buffers: Some(buffers),
            pool: Arc::clone(self),
        }
    }

    #[cfg(test)]
    /// Capacity of the buffers held now: body and coded bytes (for tests of reuse).
    pub(crate) fn held_capacity(&self) -> Vec<(usize, usize)> {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|b| (b.body.capacity(), b.coded.capacity()))
            .collect()
    }
}

/// Buffers on loan from a [`Pool`]; back to it when dropped. A response body owns one
/// (through `Bytes::from_owner`), so the buffers return once hyper has written them.
pub(crate) struct Pooled {
    buffers: Option<Buffers>,
    pool: Arc<Pool>,
}

impl Pooled {
    pub(crate) fn get_mut(&mut self) -> &mut Buffers {
        self.buffers.as_mut().expect("buffers present until drop")
    }
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        self.buffers.as_ref().map_or(&[], Buffers::response)
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(buffers) = self.buffers.take() {
            let mut free = self
                .pool
                .free
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if free.len() < self.pool.keep {
                free.push(buffers);
            }
        }
    }
}
