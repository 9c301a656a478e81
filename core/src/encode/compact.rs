//! The size-oriented configuration's output (feature `small`): every byte goes straight to
//! the sink, a series that does not fit is cut back with [`Sink::truncate`], and escaping
//! is one byte-by-byte scan. The same bytes as the default configuration's gathering
//! [`Out`](super::text), with a fraction of the code and no scratch buffer on the stack.

use super::number;
use super::{Full, Sink};

/// Where series are written: the sink itself.
pub(crate) struct Out<'s, S: Sink + ?Sized> {
    sink: &'s mut S,
}

impl<'s, S: Sink + ?Sized> Out<'s, S> {
    pub(crate) fn new(sink: &'s mut S) -> Self {
        Self { sink }
    }

    /// Where the output stands.
    #[inline]
    pub(crate) fn position(&self) -> usize {
        self.sink.len()
    }

    /// A series is complete: it is in the sink already.
    #[inline]
    pub(crate) fn complete(&mut self) -> Result<(), Full> {
        Ok(())
    }

    /// Drops everything after `position`.
    #[inline]
    pub(crate) fn rewind(&mut self, position: usize) {
        self.sink.truncate(position);
    }

    /// Appends `bytes`.
    #[inline]
    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> Result<(), Full> {
        self.sink.write(bytes)
    }

    /// Appends `text`, escaped for a label value (`quotes`: `\\`, `\n`, `"`) or a help
    /// text (`\\`, `\n`).
    pub(crate) fn escaped(&mut self, text: &[u8], quotes: bool) -> Result<(), Full> {
        let mut start = 0;
        for (i, &b) in text.iter().enumerate() {
            let escaped: &[u8] = match b {
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'"' if quotes => b"\\\"",
                _ => continue,
            };
            self.bytes(&text[start..i])?;
            self.bytes(escaped)?;
            start = i + 1;
        }
        self.bytes(&text[start..])
    }

    #[inline]
    pub(crate) fn u64(&mut self, value: u64) -> Result<(), Full> {
        self.bytes(itoa::Buffer::new().format(value).as_bytes())
    }

    #[inline]
    pub(crate) fn i64(&mut self, value: i64) -> Result<(), Full> {
        self.bytes(itoa::Buffer::new().format(value).as_bytes())
    }

    #[inline]
    pub(crate) fn f64(&mut self, value: f64) -> Result<(), Full> {
        self.bytes(number::float(value).as_bytes())
    }
}
