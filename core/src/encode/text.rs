//! What both text formats share: sample lines, labels, escaping, rollback.

use core::ops::ControlFlow;

use super::number;
use super::{FamilyName, Full, Sink};
use crate::metric::MetricKind;
use crate::visit::{ExemplarValue, FamilyInfo, HistogramValue, SeriesLabels, SummaryValue, Value};

// The size-oriented configuration writes straight into the sink, by the general path only.
#[cfg(feature = "small")]
pub(crate) use super::compact::Out;

/// Bytes a series is assembled in before it goes to the sink in one write (a longer
/// series, such as a histogram's, goes in several).
#[cfg(not(feature = "small"))]
const SCRATCH: usize = 512;

/// Whether the 64-bit `word` holds a byte that needs escaping: the classic "has a zero
/// byte" test on the word XORed with each special byte (exact: it never reports a zero
/// byte that is not there).
#[cfg(not(feature = "small"))]
#[inline(always)]
fn special(word: u64, quotes: bool) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    #[inline(always)]
    fn has_byte(word: u64, byte: u8) -> bool {
        let x = word ^ (ONES * u64::from(byte));
        (x.wrapping_sub(ONES) & !x & HIGHS) != 0
    }
    has_byte(word, b'\\') | has_byte(word, b'\n') | (quotes & has_byte(word, b'"'))
}

/// Whether the 64-bit `word` might hold a byte that needs escaping in a label value: one
/// below `#` (which covers `\n` and `"`) or a backslash. Cheaper than [`special`], and
/// never `false` where that is `true`: a `true` here is then settled by [`special`].
#[cfg(not(feature = "small"))]
#[inline(always)]
fn suspect(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // "Has a byte below n" (exact for n <= 128), and "has a zero byte" after the XOR.
    let below = word.wrapping_sub(ONES * u64::from(b'#')) & !word;
    let x = word ^ (ONES * u64::from(b'\\'));
    let backslash = x.wrapping_sub(ONES) & !x;
    (below | backslash) & HIGHS != 0
}

/// Which bytes need escaping in a label value: `\\`, `\n`, `"` (non-zero entries).
#[cfg(not(feature = "small"))]
static ESCAPED: [u8; 256] = {
    let mut table = [0; 256];
    table[b'\\' as usize] = 1;
    table[b'\n' as usize] = 1;
    table[b'"' as usize] = 1;
    table
};

/// Whether `bytes` holds a byte that needs escaping: `\\`, `\n`, and with `quotes` `"`.
///
/// Eight bytes at a time, as words: the classic "has a zero byte" test on the word XORed
/// with each special byte.
#[cfg(not(feature = "small"))]
#[inline(always)]
fn needs_escaping(bytes: &[u8], quotes: bool) -> bool {
    #[inline(always)]
    fn u64_at(bytes: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]))
    }
    #[inline(always)]
    fn u32_at(bytes: &[u8], at: usize) -> u64 {
        u64::from(u32::from_le_bytes(
            bytes[at..at + 4].try_into().unwrap_or([0; 4]),
        ))
    }
    // Overlapping loads read some bytes twice, which cannot hide or invent a special
    // byte: every byte looked at is one of the value's.
    let n = bytes.len();
    match n {
        0 => false,
        1..=3 => {
            let (a, b, c) = (bytes[0], bytes[n / 2], bytes[n - 1]);
            let word = u64::from(a) | (u64::from(b) << 8) | (u64::from(c) << 16);
            // The zero bytes above match nothing special.
            special(word, quotes)
        }
        4..=8 => special(u32_at(bytes, 0) | (u32_at(bytes, n - 4) << 32), quotes),
        _ => {
            let mut found = special(u64_at(bytes, n - 8), quotes);
            let mut at = 0;
            while at + 8 <= n {
                found |= special(u64_at(bytes, at), quotes);
                at += 8;
            }
            found
        }
    }
}

/// Copies `src` to the front of `dst` (`dst.len() >= src.len()`), without a call to
/// `memcpy` for the short pieces a sample line is made of: up to 64 bytes move as two
/// overlapping fixed-size loads and stores.
#[cfg(not(feature = "small"))]
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    #[inline(always)]
    fn pair<const N: usize>(dst: &mut [u8], src: &[u8]) {
        let n = src.len();
        // Fixed-size copies: a few vector moves each, no call.
        dst[..N].copy_from_slice(&src[..N]);
        dst[n - N..n].copy_from_slice(&src[n - N..n]);
    }
    let n = src.len();
    if dst.len() < n {
        dst[..n].copy_from_slice(src);
    } else if n <= 8 {
        if n >= 4 {
            pair::<4>(dst, src);
        } else if n > 0 {
            // 1 to 3 bytes: first, middle, last.
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
    } else if n <= 16 {
        pair::<8>(dst, src);
    } else if n <= 32 {
        pair::<16>(dst, src);
    } else if n <= 64 {
        pair::<32>(dst, src);
    } else {
        dst[..n].copy_from_slice(src);
    }
}

/// Free room the scratch buffer keeps at the start of a single-line series, so that a
/// typical sample line goes in whole on the fast path ([`Writer::fast_line`]); a longer
/// one that does not fit what is left takes the general path.
#[cfg(not(feature = "small"))]
const LINE_ROOM: usize = 128;
/// Free room for each line of a histogram on its fast path ([`Writer::fast_histogram`]):
/// more than the longest such line.
#[cfg(not(feature = "small"))]
const HISTOGRAM_LINE_ROOM: usize = 256;

/// The free part of the scratch buffer while one line is written into it on the fast path:
/// the position lives in this slice (a register), not in [`Out`], and nothing counts until
/// the caller commits the bytes written. Every method either writes all it was asked to or
/// returns `None`, and the caller then drops the line and writes it the general way.
#[cfg(not(feature = "small"))]
struct Room<'b> {
    rest: &'b mut [u8],
}

#[cfg(not(feature = "small"))]
impl Room<'_> {
    #[inline(always)]
    fn advance(&mut self, n: usize) {
        let rest = core::mem::take(&mut self.rest);
        self.rest = rest.get_mut(n..).unwrap_or_default();
    }

    /// Appends `bytes`.
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) -> Option<()> {
        if self.rest.len() < bytes.len() {
            return None;
        }
        copy_short(self.rest, bytes);
        self.advance(bytes.len());
        Some(())
    }

    /// Appends the first `len` bytes of `block` (copying the whole block).
    #[inline(always)]
    fn block<const N: usize>(&mut self, block: &[u8; N], len: usize) -> Option<()> {
        let dest: &mut [u8; N] = self.rest.get_mut(..N)?.try_into().ok()?;
        *dest = *block;
        self.advance(len);
        Some(())
    }

    /// Appends a label value that needs no escaping; `None` if it does need it.
    #[inline(always)]
    fn clean_value(&mut self, text: &[u8]) -> Option<()> {
        let n = text.len();
        if n > 16 {
            return self.long_clean_value(text);
        }
        // One set of loads serves both the check and the copy, as in `Out::escaped`.
        let room: &mut [u8; 16] = self.rest.get_mut(..16)?.try_into().ok()?;
        let clean = match n {
            0 => true,
            1..=3 => {
                let (a, b, c) = (text[0], text[n / 2], text[n - 1]);
                room[0] = a;
                room[n / 2] = b;
                room[n - 1] = c;
                (ESCAPED[usize::from(a)] | ESCAPED[usize::from(b)] | ESCAPED[usize::from(c)]) == 0
            }
            4..=8 => {
                let head: [u8; 4] = text[..4].try_into().unwrap_or([0; 4]);
                let tail: [u8; 4] = text[n - 4..].try_into().unwrap_or([0; 4]);
                room[..4].copy_from_slice(&head);
                room[n - 4..n].copy_from_slice(&tail);
                let word = u64::from(u32::from_le_bytes(head))
                    | (u64::from(u32::from_le_bytes(tail)) << 32);
                !(suspect(word) && special(word, true))
            }
            _ => {
                let head = u64::from_le_bytes(text[..8].try_into().unwrap_or([0; 8]));
                let tail = u64::from_le_bytes(text[n - 8..].try_into().unwrap_or([0; 8]));
                room[..8].copy_from_slice(&head.to_le_bytes());
                room[n - 8..n].copy_from_slice(&tail.to_le_bytes());
                !((suspect(head) || suspect(tail)) && (special(head, true) | special(tail, true)))
            }
        };
        if !clean {
            return None;
        }
        self.advance(n);
        Some(())
    }

    #[inline(never)]
    fn long_clean_value(&mut self, text: &[u8]) -> Option<()> {
        if needs_escaping(text, true) {
            return None;
        }
        self.put(text)
    }

    /// Appends a sample value.
    #[inline(always)]
    fn sample(&mut self, value: Sample) -> Option<()> {
        match value {
            Sample::U64(v) => self.u64(v),
            Sample::I64(v) => self.i64(v),
            Sample::F64(v) => self.f64(v),
        }
    }

    /// Appends `value` in decimal.
    #[inline(always)]
    fn u64(&mut self, value: u64) -> Option<()> {
        let room: &mut [u8; 24] = self.rest.get_mut(..24)?.try_into().ok()?;
        let n = number::write_u64(room, value);
        self.advance(n);
        Some(())
    }

    /// Appends `value` in decimal.
    #[inline(always)]
    fn i64(&mut self, value: i64) -> Option<()> {
        if value < 0 {
            self.put(b"-")?;
        }
        self.u64(value.unsigned_abs())
    }

    /// Appends `value` in canonical form.
    #[inline(always)]
    fn f64(&mut self, value: f64) -> Option<()> {
        self.put(number::float(value).as_bytes())
    }
}

/// A sample's value, as the fast path writes it.
#[derive(Clone, Copy)]
#[cfg_attr(feature = "small", allow(dead_code))]
enum Sample {
    U64(u64),
    I64(i64),
    F64(f64),
}

/// Bytes of pre-rendered line fragments a [`Template`] holds.
#[cfg(not(feature = "small"))]
const TEMPLATE_BYTES: usize = 256;
/// Labels a [`Template`] covers.
#[cfg(not(feature = "small"))]
const TEMPLATE_LABELS: usize = 12;
/// Labels the fast path's fixed-size fragment blocks cover ([`Template::blocks`]).
#[cfg(not(feature = "small"))]
const BLOCK_LABELS: usize = 4;
/// The fast path's block for fragment 0 (`name{a="`).
#[cfg(not(feature = "small"))]
const HEAD_BLOCK: usize = 64;
/// The fast path's block for each later fragment (`",b="`, `"} `).
#[cfg(not(feature = "small"))]
const MID_BLOCK: usize = 32;

/// Fragments of a [`Template`] in fixed-size blocks, for the fast path: each is copied as
/// one whole block (a few vector moves, no length dispatch), of which only its length
/// counts; the bytes past it are overwritten by what follows or lie past the line's end.
#[cfg(not(feature = "small"))]
struct Blocks {
    head: [u8; HEAD_BLOCK],
    head_len: usize,
    mids: [([u8; MID_BLOCK], usize); BLOCK_LABELS],
}

/// The constant parts of one family's single-line samples, rendered once per family:
/// `name{a="`, `",b="`, ..., `"} ` (or `name ` without labels). A sample line is then these
/// fragments with the escaped label values between them, and the value after.
///
/// A template lives for one family: the writer drops it when a family begins
/// ([`Writer::begin_family`]), so a name buffer that a caller reuses for the next family
/// is never mistaken for the last one. Within a family it is recognised by the addresses
/// of the name and the label-name slice, which the family owns for the whole visit; label
/// names a custom collector passes as plain strings ([`SeriesLabels::from_pairs`]) are
/// compared by content as well, since such a collector may rebuild them in place between
/// series.
#[cfg(not(feature = "small"))]
struct Template {
    /// What it was built for: the addresses of the name and of the label-name slice
    /// (compared, never dereferenced), and the lengths of the name, the suffix and the
    /// label-name slice packed into one word.
    key: [usize; 3],
    bytes: [u8; TEMPLATE_BYTES],
    /// Fragment `i` is `bytes[ends[i - 1]..ends[i]]` (from 0 for the first).
    ends: [u16; TEMPLATE_LABELS + 1],
    labels: usize,
    /// The same fragments in blocks, when every one fits its block and there are at most
    /// [`BLOCK_LABELS`] labels.
    blocks: Option<Blocks>,
}

#[cfg(not(feature = "small"))]
impl Template {
    const EMPTY: Template = Template {
        key: [0; 3],
        bytes: [0; TEMPLATE_BYTES],
        ends: [0; TEMPLATE_LABELS + 1],
        labels: 0,
        blocks: None,
    };

    fn key(name: &str, suffix: &str, names: &[&str]) -> [usize; 3] {
        // The suffix is one of a few constants, told apart by length.
        [
            name.as_ptr() as usize,
            names.as_ptr() as usize,
            name.len() ^ (suffix.len() << 24) ^ (names.len() << 28),
        ]
    }

    /// Whether this is already the template for `name`, `suffix` and the label names of
    /// `labels`.
    #[inline(always)]
    fn is_for(&self, name: &str, suffix: &str, labels: &SeriesLabels<'_>) -> bool {
        let names = labels.names();
        let key = Self::key(name, suffix, names);
        // Compared word by word: an array `!=` would call `memcmp`.
        let same = self
            .key
            .iter()
            .zip(key)
            .fold(true, |same, (a, b)| same & (*a == b));
        same && (labels.names_owned_by_family() || self.has_label_names(name, suffix, names))
    }

    /// Whether the label names rendered into the fragments are `names`, byte for byte.
    #[cold]
    fn has_label_names(&self, name: &str, suffix: &str, names: &[&str]) -> bool {
        // Label `i` sits just before the `="` that ends fragment `i`, after the `{` of the
        // head or the `",` that starts the fragment.
        let mut start = name.len() + suffix.len() + 1;
        for (i, label) in names.iter().enumerate() {
            let Some(&end) = self.ends.get(i) else {
                return false;
            };
            let end = usize::from(end);
            if end != start + label.len() + 2
                || self.bytes.get(start..end - 2) != Some(label.as_bytes())
            {
                return false;
            }
            start = end + 2;
        }
        true
    }

    /// Renders the fragments for `name`, `suffix` and label `names`; `false` if they do not
    /// fit (the caller then writes the line piece by piece).
    fn build(&mut self, name: &str, suffix: &str, names: &[&str]) -> bool {
        self.key = [0; 3];
        if names.len() > TEMPLATE_LABELS {
            return false;
        }
        let mut at = 0;
        let mut ok = true;
        let mut put =
            |bytes: &[u8], at: &mut usize| match self.bytes.get_mut(*at..*at + bytes.len()) {
                Some(dest) => {
                    dest.copy_from_slice(bytes);
                    *at += bytes.len();
                }
                None => ok = false,
            };
        put(name.as_bytes(), &mut at);
        put(suffix.as_bytes(), &mut at);
        if names.is_empty() {
            put(b" ", &mut at);
            self.ends[0] = at as u16;
        } else {
            for (i, label) in names.iter().enumerate() {
                put(if i == 0 { b"{" } else { b"\"," }, &mut at);
                put(label.as_bytes(), &mut at);
                put(b"=\"", &mut at);
                self.ends[i] = at as u16;
            }
            put(b"\"} ", &mut at);
            self.ends[names.len()] = at as u16;
        }
        if !ok {
            return false;
        }
        self.labels = names.len();
        self.blocks = self.blocks();
        self.key = Self::key(name, suffix, names);
        true
    }

    /// The fragments in blocks, if they fit.
    fn blocks(&self) -> Option<Blocks> {
        if self.labels > BLOCK_LABELS {
            return None;
        }
        let mut blocks = Blocks {
            head: [0; HEAD_BLOCK],
            head_len: 0,
            mids: [([0; MID_BLOCK], 0); BLOCK_LABELS],
        };
        let head = self.fragment(0);
        blocks.head.get_mut(..head.len())?.copy_from_slice(head);
        blocks.head_len = head.len();
        for (i, (block, len)) in blocks.mids.iter_mut().enumerate().take(self.labels) {
            let fragment = self.fragment(i + 1);
            block.get_mut(..fragment.len())?.copy_from_slice(fragment);
            *len = fragment.len();
        }
        Some(blocks)
    }

    #[inline(always)]
    fn fragment(&self, i: usize) -> &[u8] {
        let start = if i == 0 {
            0
        } else {
            usize::from(self.ends[i - 1])
        };
        let end = usize::from(self.ends[i]);
        self.bytes.get(start..end).unwrap_or_default()
    }
}

/// Where series are assembled: a scratch buffer. Complete series stay in it while the
/// sink says it is sure to take them ([`Sink::remaining`]) and go to the sink in one write
/// when it is full, when the sink cannot say, and when the writer is dropped.
#[cfg(not(feature = "small"))]
pub(crate) struct Out<'s, S: Sink + ?Sized> {
    sink: &'s mut S,
    scratch: [u8; SCRATCH],
    len: usize,
    /// Times the scratch buffer was emptied: a range recorded in it is valid while this
    /// has not changed.
    flushes: u32,
}

/// The shared state of both encoders: the output, the current family's line template,
/// and the family that did not fit.
pub(crate) struct Writer<'s, S: Sink + ?Sized> {
    pub(crate) out: Out<'s, S>,
    #[cfg(not(feature = "small"))]
    template: Template,
    #[cfg(not(feature = "small"))]
    buckets: BucketLabels,
    pub(crate) failed: FamilyName,
}

/// Bytes of a histogram series' rendered line start, `name_bucket{a="x",b="y",`, on the
/// fast path ([`Writer::fast_histogram`]).
#[cfg(not(feature = "small"))]
const PREFIX: usize = 128;
/// Buckets a [`BucketLabels`] covers.
#[cfg(not(feature = "small"))]
const BUCKET_LABELS: usize = 32;

/// `le="<bound>"} ` for each bucket (`+Inf` last) of the last histogram bounds seen,
/// rendered once for all the series that share them.
#[cfg(not(feature = "small"))]
struct BucketLabels {
    /// The bounds it was rendered for, as bits (`count - 1` of them).
    bounds: [u64; BUCKET_LABELS],
    bytes: [u8; 384],
    /// Fragment `i` is `bytes[ends[i - 1]..ends[i]]` (from 0 for the first).
    ends: [u16; BUCKET_LABELS],
    /// Buckets rendered, `+Inf` included; 0 when none are.
    count: usize,
}

#[cfg(not(feature = "small"))]
impl BucketLabels {
    const EMPTY: BucketLabels = BucketLabels {
        bounds: [0; BUCKET_LABELS],
        bytes: [0; 384],
        ends: [0; BUCKET_LABELS],
        count: 0,
    };

    /// Whether it holds the fragments for `bounds`, rendering them if it can.
    fn ready(&mut self, bounds: &[f64]) -> bool {
        let same = self.count == bounds.len() + 1
            && self
                .bounds
                .iter()
                .zip(bounds)
                .all(|(a, b)| *a == b.to_bits());
        same || self.build(bounds)
    }

    #[cold]
    fn build(&mut self, bounds: &[f64]) -> bool {
        self.count = 0;
        if bounds.len() >= BUCKET_LABELS {
            return false;
        }
        let mut room = Room {
            rest: &mut self.bytes,
        };
        for (i, le) in bounds
            .iter()
            .copied()
            .chain(core::iter::once(f64::INFINITY))
            .enumerate()
        {
            let fits = room.put(b"le=\"").is_some()
                && room.f64(le).is_some()
                && room.put(b"\"} ").is_some();
            if !fits {
                return false;
            }
            if let Some(end) = self.ends.get_mut(i) {
                *end = (384 - room.rest.len()) as u16;
            }
            if let Some(slot) = self.bounds.get_mut(i) {
                *slot = le.to_bits();
            }
        }
        self.count = bounds.len() + 1;
        true
    }

    #[inline(always)]
    fn fragment(&self, i: usize) -> Option<&[u8]> {
        if i >= self.count {
            return None;
        }
        let start = match i.checked_sub(1) {
            Some(before) => usize::from(*self.ends.get(before)?),
            None => 0,
        };
        self.bytes.get(start..usize::from(*self.ends.get(i)?))
    }
}

impl<'s, S: Sink + ?Sized> Writer<'s, S> {
    #[cfg(feature = "small")]
    pub(crate) fn new(sink: &'s mut S) -> Self {
        Self {
            out: Out::new(sink),
            failed: FamilyName::EMPTY,
        }
    }

    #[cfg(not(feature = "small"))]
    pub(crate) fn new(sink: &'s mut S) -> Self {
        Self {
            out: Out {
                sink,
                scratch: [0; SCRATCH],
                len: 0,
                flushes: 0,
            },
            template: Template::EMPTY,
            buckets: BucketLabels::EMPTY,
            failed: FamilyName::EMPTY,
        }
    }

    /// A family begins: the line template of the last one is dropped (see [`Template`]).
    pub(crate) fn begin_family(&mut self) {
        #[cfg(not(feature = "small"))]
        {
            self.template.key = [0; 3];
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
        let start = self.out.position();
        match write(self).and_then(|()| self.out.complete()) {
            Ok(()) => ControlFlow::Continue(()),
            Err(Full) => {
                self.out.rewind(start);
                self.failed = FamilyName::new(family.name);
                ControlFlow::Break(())
            }
        }
    }

    /// Appends `bytes` to the series being assembled.
    #[inline(always)]
    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> Result<(), Full> {
        self.out.bytes(bytes)
    }

    /// Appends `text`, escaped for a label value (`quotes`) or a help text.
    #[inline]
    pub(crate) fn escaped(&mut self, text: &[u8], quotes: bool) -> Result<(), Full> {
        self.out.escaped(text, quotes)
    }

    #[inline]
    fn u64(&mut self, value: u64) -> Result<(), Full> {
        self.out.u64(value)
    }

    #[inline]
    fn i64(&mut self, value: i64) -> Result<(), Full> {
        self.out.i64(value)
    }

    #[inline]
    fn f64(&mut self, value: f64) -> Result<(), Full> {
        self.out.f64(value)
    }
}

#[cfg(not(feature = "small"))]
impl<S: Sink + ?Sized> Drop for Out<'_, S> {
    fn drop(&mut self) {
        // Whole series the sink was sure to accept (see `complete`): this cannot fail.
        let _ = self.flush();
    }
}

#[cfg(not(feature = "small"))]
impl<S: Sink + ?Sized> Out<'_, S> {
    /// Sends the scratch buffer to the sink.
    #[inline]
    fn flush(&mut self) -> Result<(), Full> {
        if self.len > 0 {
            // On `Full` the bytes stay gathered, for `rewind` to sort out.
            self.sink.write(&self.scratch[..self.len])?;
            self.len = 0;
            self.flushes = self.flushes.wrapping_add(1);
        }
        Ok(())
    }

    /// Where the output stands: bytes in the sink plus bytes gathered.
    #[inline]
    fn position(&self) -> usize {
        self.sink.len() + self.len
    }

    /// A series is complete. It stays gathered in the scratch buffer, with the series
    /// before it, as long as the sink is sure to take them all; otherwise they go to the
    /// sink now, and a sink without room refuses this series.
    #[inline]
    fn complete(&mut self) -> Result<(), Full> {
        match self.sink.remaining() {
            Some(room) if room >= self.len => Ok(()),
            Some(_) => Err(Full),
            None => self.flush(),
        }
    }

    /// Drops everything after `position` (from the scratch buffer, or from the sink if a
    /// series in progress had already been partly written to it).
    #[cold]
    fn rewind(&mut self, position: usize) {
        let in_sink = self.sink.len();
        if position >= in_sink {
            self.len = (position - in_sink).min(self.len);
        } else {
            self.sink.truncate(position);
            self.len = 0;
            self.flushes = self.flushes.wrapping_add(1);
        }
    }

    /// The free part of the scratch buffer, at least `need` bytes of it (flushing the
    /// gathered bytes first if it is shorter); `need` is at most [`SCRATCH`].
    #[inline(always)]
    fn room(&mut self, need: usize) -> Result<Room<'_>, Full> {
        if SCRATCH - self.len < need {
            self.flush()?;
        }
        Ok(Room {
            rest: self.scratch.get_mut(self.len..).unwrap_or_default(),
        })
    }

    /// Counts the bytes written into a [`Room`] from [`room`](Self::room), which had
    /// `left` bytes left.
    #[inline(always)]
    fn commit(&mut self, left: usize) {
        self.len = SCRATCH - left;
    }

    /// Appends a copy of `range`, an earlier part of the scratch buffer; `false` (writing
    /// nothing) if there is no room behind it.
    #[inline]
    fn repeat(&mut self, range: core::ops::Range<usize>) -> bool {
        let n = range.len();
        if range.end > self.len || self.len + n > SCRATCH {
            return false;
        }
        self.scratch.copy_within(range, self.len);
        self.len += n;
        true
    }

    /// Appends `bytes` to the series being assembled.
    #[inline(always)]
    fn bytes(&mut self, bytes: &[u8]) -> Result<(), Full> {
        match self.scratch.get_mut(self.len..) {
            Some(room) if room.len() >= bytes.len() => {
                copy_short(room, bytes);
                self.len += bytes.len();
                Ok(())
            }
            _ => self.bytes_slow(bytes),
        }
    }

    #[cold]
    #[inline(never)]
    fn bytes_slow(&mut self, bytes: &[u8]) -> Result<(), Full> {
        self.flush()?;
        if bytes.len() > SCRATCH {
            return self.sink.write(bytes);
        }
        self.scratch[..bytes.len()].copy_from_slice(bytes);
        self.len = bytes.len();
        Ok(())
    }

    /// Appends `text`, escaped for a label value (`quotes`) or a help text.
    #[inline(always)]
    fn escaped(&mut self, text: &[u8], quotes: bool) -> Result<(), Full> {
        // Short values (most label values): one set of loads serves both the check and the
        // copy.
        let n = text.len();
        if n <= 16
            && let Some(room) = self.scratch.get_mut(self.len..self.len + 16)
        {
            let clean = match n {
                0 => true,
                1..=3 => {
                    let (a, b, c) = (text[0], text[n / 2], text[n - 1]);
                    room[0] = a;
                    room[n / 2] = b;
                    room[n - 1] = c;
                    !special(
                        u64::from(a) | (u64::from(b) << 8) | (u64::from(c) << 16),
                        quotes,
                    )
                }
                4..=8 => {
                    let head: [u8; 4] = text[..4].try_into().unwrap_or([0; 4]);
                    let tail: [u8; 4] = text[n - 4..].try_into().unwrap_or([0; 4]);
                    room[..4].copy_from_slice(&head);
                    room[n - 4..n].copy_from_slice(&tail);
                    let word = u64::from(u32::from_le_bytes(head))
                        | (u64::from(u32::from_le_bytes(tail)) << 32);
                    !special(word, quotes)
                }
                _ => {
                    let head: [u8; 8] = text[..8].try_into().unwrap_or([0; 8]);
                    let tail: [u8; 8] = text[n - 8..].try_into().unwrap_or([0; 8]);
                    room[..8].copy_from_slice(&head);
                    room[n - 8..n].copy_from_slice(&tail);
                    !(special(u64::from_le_bytes(head), quotes)
                        | special(u64::from_le_bytes(tail), quotes))
                }
            };
            if clean {
                self.len += n;
                return Ok(());
            }
            // The copy is not counted: the slow path writes the escaped form over it.
            return self.escaped_slow(text, quotes);
        }
        if !needs_escaping(text, quotes) {
            return self.bytes(text);
        }
        self.escaped_slow(text, quotes)
    }

    #[cold]
    #[inline(never)]
    fn escaped_slow(&mut self, text: &[u8], quotes: bool) -> Result<(), Full> {
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
    fn u64(&mut self, value: u64) -> Result<(), Full> {
        let mut buf = [0; 24];
        let n = number::write_u64(&mut buf, value);
        self.bytes(buf.get(..n).unwrap_or_default())
    }

    #[inline]
    fn i64(&mut self, value: i64) -> Result<(), Full> {
        let mut buf = itoa::Buffer::new();
        self.bytes(buf.format(value).as_bytes())
    }

    #[inline]
    fn f64(&mut self, value: f64) -> Result<(), Full> {
        self.bytes(number::float(value).as_bytes())
    }
}

impl<S: Sink + ?Sized> Writer<'_, S> {
    /// `{name="value",...,extra="..."}`, or nothing when there are no labels at all.
    #[inline]
    fn labels(
        &mut self,
        labels: &SeriesLabels<'_>,
        extra: Option<(&str, f64)>,
    ) -> Result<(), Full> {
        let mut open = false;
        labels.try_for_each_raw(|name, value| {
            self.bytes(if open { b"," } else { b"{" })?;
            open = true;
            self.bytes(name.as_bytes())?;
            self.bytes(b"=\"")?;
            self.escaped(value, true)?;
            self.bytes(b"\"")
        })?;
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

    /// The start of a single-line sample (the size-oriented configuration keeps no
    /// templates).
    #[cfg(feature = "small")]
    #[inline]
    fn line_head(
        &mut self,
        name: &str,
        suffix: &str,
        labels: &SeriesLabels<'_>,
    ) -> Result<(), Full> {
        self.head(name, suffix, labels, None)
    }

    /// The start of a single-line sample, from the family's template when it has one.
    #[cfg(not(feature = "small"))]
    #[inline(always)]
    fn line_head(
        &mut self,
        name: &str,
        suffix: &str,
        labels: &SeriesLabels<'_>,
    ) -> Result<(), Full> {
        let names = labels.names();
        if labels.is_overflow() {
            return self.head(name, suffix, labels, None);
        }
        if !self.template.is_for(name, suffix, labels) && !self.template.build(name, suffix, names)
        {
            return self.head(name, suffix, labels, None);
        }
        let (template, out) = (&self.template, &mut self.out);
        out.bytes(template.fragment(0))?;
        if let Some(mut values) = labels.encoded_values() {
            // A dynamic family's series: walk its stored key directly.
            return fill(out, template, |_| values.next_bytes());
        }
        if let Some((index, value_of)) = labels.typed_parts() {
            return fill(out, template, |at| Some(value_of(index, at).as_bytes()));
        }
        let mut i = 0;
        labels.try_for_each_raw(|_, value| {
            i += 1;
            if i > template.labels {
                return Ok(());
            }
            out.escaped(value, true)?;
            out.bytes(template.fragment(i))
        })?;
        if i < template.labels {
            // Fewer values than names (a custom collector's short slice): close the braces.
            out.bytes(b"\"} ")?;
        }
        Ok(())
    }

    /// Writes a whole single-line sample, `name[suffix]{labels} ` then `value` then `\n`,
    /// straight into the scratch buffer: the fast path for a series of a dynamic or typed
    /// family (or one without labels) whose label values need no escaping. Returns `false`,
    /// having written nothing, when it does not apply or the line does not fit; the caller
    /// then writes the line the general way.
    #[cfg(feature = "small")]
    #[inline(always)]
    fn fast_line(&mut self, _: &str, _: &str, _: &SeriesLabels<'_>, _: Sample) -> bool {
        false
    }

    /// The fast path of a single-line sample (see above).
    #[cfg(not(feature = "small"))]
    #[inline(always)]
    fn fast_line(
        &mut self,
        name: &str,
        suffix: &str,
        labels: &SeriesLabels<'_>,
        value: Sample,
    ) -> bool {
        if labels.is_overflow() {
            return false;
        }
        let names = labels.names();
        if !self.template.is_for(name, suffix, labels) && !self.template.build(name, suffix, names)
        {
            return false;
        }
        // Make room for the line at the start of the series: the bytes gathered so far are
        // whole series that the sink is sure to take (see `Out::complete`).
        if SCRATCH - self.out.len < LINE_ROOM && self.out.flush().is_err() {
            return false;
        }
        let template = &self.template;
        let Some(rest) = self.out.scratch.get_mut(self.out.len..) else {
            return false;
        };
        let free = rest.len();
        let mut room = Room { rest };
        let Some(blocks) = &template.blocks else {
            return false;
        };
        let mids = blocks.mids.get(..template.labels).unwrap_or_default();
        let line = fill_line(&mut room, blocks, mids, labels, value);
        if line.is_none() {
            return false;
        }
        self.out.len += free - room.rest.len();
        true
    }

    /// Writes `a="x",b="y",` (each pair followed by a comma): a copy of `earlier` when
    /// that is still in the scratch buffer, else freshly escaped. Returns where it now is
    /// (`None` if it did not stay in one piece in the scratch buffer).
    #[cfg(not(feature = "small"))]
    #[inline]
    fn label_block(
        &mut self,
        labels: &SeriesLabels<'_>,
        earlier: Option<(core::ops::Range<usize>, u32)>,
    ) -> Result<Option<(core::ops::Range<usize>, u32)>, Full> {
        if let Some((range, flushes)) = earlier
            && flushes == self.out.flushes
        {
            let start = self.out.len;
            if self.out.repeat(range.clone()) {
                return Ok(Some((start..self.out.len, flushes)));
            }
        }
        let (start, flushes) = (self.out.len, self.out.flushes);
        labels.try_for_each_raw(|name, value| {
            self.out.bytes(name.as_bytes())?;
            self.out.bytes(b"=\"")?;
            self.out.escaped(value, true)?;
            self.out.bytes(b"\",")
        })?;
        Ok((flushes == self.out.flushes).then_some((start..self.out.len, flushes)))
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
            self.escaped(value.as_bytes(), true)?;
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
    ///
    /// The most common series of a large scrape, a counter whose line the fast path can
    /// write, is written here, inline in the visitor's callback; everything else goes to
    /// [`series_general`](Self::series_general), out of line.
    #[inline(always)]
    pub(crate) fn series<const OPENMETRICS: bool>(
        &mut self,
        family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
        created: Option<u64>,
    ) -> Result<(), Full> {
        let name = family.name;
        if let Value::Counter(total) = *value
            && self.fast_line(
                name,
                counter_suffix::<OPENMETRICS>(name),
                labels,
                Sample::U64(total),
            )
        {
            return self.counter_created::<OPENMETRICS>(name, labels, created);
        }
        self.series_general::<OPENMETRICS>(family, labels, value, created)
    }

    /// [`series`](Self::series) for every series its inline path does not take (a
    /// counter among them when the fast path declined its line: it wrote nothing).
    #[inline(never)]
    fn series_general<const OPENMETRICS: bool>(
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
                if self.fast_line(name, "", labels, Sample::F64(v)) {
                    return Ok(());
                }
                self.line_head(name, "", labels)?;
                self.f64(v)?;
                self.bytes(b"\n")
            }
            Value::IntGauge(v) => {
                if self.fast_line(name, "", labels, Sample::I64(v)) {
                    return Ok(());
                }
                self.line_head(name, "", labels)?;
                self.i64(v)?;
                self.bytes(b"\n")
            }
            Value::Histogram(h) => self.histogram::<OPENMETRICS>(name, labels, &h, created),
            Value::Summary(s) => self.summary::<OPENMETRICS>(name, labels, &s, created),
            Value::NativeHistogram(n) => {
                // Through its classic buckets, or, without any, as client_golang writes a
                // native-only histogram: the `+Inf` bucket, `_sum` and `_count`.
                let count = [n.count()];
                let classic = match n.classic() {
                    Some(classic) => *classic,
                    None => HistogramValue::new(&[], &count, n.sum()),
                };
                self.histogram::<OPENMETRICS>(name, labels, &classic, created)
            }
        }
    }

    /// Every line of a histogram series.
    #[inline(never)]
    fn histogram<const OPENMETRICS: bool>(
        &mut self,
        name: &str,
        labels: &SeriesLabels<'_>,
        h: &HistogramValue<'_>,
        created: Option<u64>,
    ) -> Result<(), Full> {
        // OpenMetrics treats `_sum` and `_count` as counters: `_sum` must not be NaN or
        // negative, is forbidden outright when a bucket bound is negative, and `_count`
        // may only come with `_sum`. Such a histogram is written with its buckets alone
        // (the `+Inf` bucket is the count). The Prometheus text format has no such rule.
        let aggregates = !OPENMETRICS || openmetrics_sum_allowed(h);
        if !(OPENMETRICS && h.has_exemplars())
            && self.fast_histogram(name, labels, h, aggregates)?
        {
            if OPENMETRICS {
                self.created(name, labels, created)?;
            }
            return Ok(());
        }
        #[cfg(feature = "small")]
        {
            // Every line written whole by the general path.
            for (index, (le, count)) in h.cumulative().enumerate() {
                self.head(name, "_bucket", labels, Some(("le", le)))?;
                self.u64(count)?;
                if OPENMETRICS {
                    h.with_exemplar(index, |e| e.map_or(Ok(()), |e| self.exemplar(e)))?;
                }
                self.bytes(b"\n")?;
            }
            if aggregates {
                self.head(name, "_sum", labels, None)?;
                self.f64(h.sum())?;
                self.bytes(b"\n")?;
                self.head(name, "_count", labels, None)?;
                self.u64(h.count())?;
                self.bytes(b"\n")?;
            }
        }
        // The series' labels are escaped once, as `a="x",b="y",`, and copied into
        // the following lines while that text is still in the scratch buffer.
        #[cfg(not(feature = "small"))]
        let mut block = None;
        #[cfg(not(feature = "small"))]
        for (index, (le, count)) in h.cumulative().enumerate() {
            self.bytes(name.as_bytes())?;
            self.bytes(b"_bucket{")?;
            block = self.label_block(labels, block)?;
            self.bytes(b"le=\"")?;
            self.f64(le)?;
            self.bytes(b"\"} ")?;
            self.u64(count)?;
            if OPENMETRICS {
                h.with_exemplar(index, |e| e.map_or(Ok(()), |e| self.exemplar(e)))?;
            }
            self.bytes(b"\n")?;
        }
        #[cfg(not(feature = "small"))]
        for (suffix, last) in [(&b"_sum"[..], false), (&b"_count"[..], true)] {
            if !aggregates {
                break;
            }
            self.bytes(name.as_bytes())?;
            self.bytes(suffix)?;
            if labels.is_empty() {
                self.bytes(b" ")?;
            } else {
                self.bytes(b"{")?;
                block = self.label_block(labels, block)?;
                // Replace the block's trailing comma.
                self.out.len -= 1;
                self.bytes(b"} ")?;
            }
            if last {
                self.u64(h.count())?;
            } else {
                self.f64(h.sum())?;
            }
            self.bytes(b"\n")?;
        }
        if OPENMETRICS {
            self.created(name, labels, created)?;
        }
        Ok(())
    }

    /// A histogram series' lines without exemplars, when its line start
    /// (`name_bucket{a="x",b="y",`) needs no escaping and fits [`PREFIX`] bytes: that start
    /// is rendered once and each line is written whole into the scratch buffer. `false`,
    /// having written nothing, when this does not apply.
    #[cfg(feature = "small")]
    #[inline(always)]
    fn fast_histogram(
        &mut self,
        _: &str,
        _: &SeriesLabels<'_>,
        _: &HistogramValue<'_>,
        _: bool,
    ) -> Result<bool, Full> {
        Ok(false)
    }

    /// The fast path of a histogram series (see above).
    #[cfg(not(feature = "small"))]
    #[inline(never)]
    fn fast_histogram(
        &mut self,
        name: &str,
        labels: &SeriesLabels<'_>,
        h: &HistogramValue<'_>,
        aggregates: bool,
    ) -> Result<bool, Full> {
        const BUCKET: &[u8] = b"_bucket{";
        let mut prefix = [0u8; PREFIX];
        let mut room = Room { rest: &mut prefix };
        let built = room.put(name.as_bytes()).is_some()
            && room.put(BUCKET).is_some()
            && labels
                .try_for_each_raw(|label, value| {
                    room.put(label.as_bytes())
                        .and_then(|()| room.put(b"=\""))
                        .and_then(|()| room.clean_value(value))
                        .and_then(|()| room.put(b"\","))
                        .ok_or(())
                })
                .is_ok();
        if !built {
            return Ok(false);
        }
        let len = PREFIX - room.rest.len();
        let prefix = prefix.get(..len).unwrap_or_default();
        // `a="x",b="y",`
        let pairs = prefix.get(name.len() + BUCKET.len()..).unwrap_or_default();
        let cached = self.buckets.ready(h.bounds());
        for (index, (le, count)) in h.cumulative().enumerate() {
            let mut room = self.out.room(HISTOGRAM_LINE_ROOM)?;
            // The room holds HISTOGRAM_LINE_ROOM bytes, more than any of these lines (the prefix is
            // at most PREFIX bytes): none fails. Were one to, the series is refused whole.
            let line = room.put(prefix).and_then(|()| {
                match self.buckets.fragment(index).filter(|_| cached) {
                    Some(fragment) => room.put(fragment)?,
                    None => {
                        room.put(b"le=\"")?;
                        room.f64(le)?;
                        room.put(b"\"} ")?;
                    }
                }
                room.u64(count)?;
                room.put(b"\n")
            });
            let left = room.rest.len();
            line.ok_or(Full)?;
            self.out.commit(left);
        }
        let aggregates: &[(&[u8], Sample)] = if aggregates {
            &[
                (b"_sum", Sample::F64(h.sum())),
                (b"_count", Sample::U64(h.count())),
            ]
        } else {
            &[]
        };
        for &(suffix, value) in aggregates {
            let mut room = self.out.room(HISTOGRAM_LINE_ROOM)?;
            let line = room
                .put(name.as_bytes())
                .and_then(|()| room.put(suffix))
                .and_then(|()| match pairs.split_last() {
                    // Without its trailing comma.
                    Some((_, pairs)) => {
                        room.put(b"{")?;
                        room.put(pairs)?;
                        room.put(b"} ")
                    }
                    None => room.put(b" "),
                })
                .and_then(|()| room.sample(value))
                .and_then(|()| room.put(b"\n"));
            let left = room.rest.len();
            line.ok_or(Full)?;
            self.out.commit(left);
        }
        Ok(true)
    }

    /// Every line of a summary series.
    #[inline(never)]
    fn summary<const OPENMETRICS: bool>(
        &mut self,
        name: &str,
        labels: &SeriesLabels<'_>,
        s: &SummaryValue<'_>,
        created: Option<u64>,
    ) -> Result<(), Full> {
        // OpenMetrics forbids negative quantile values and a NaN or negative `_sum` (a
        // summary that observed negative values): those samples are left out there, and
        // `_count` stays. The Prometheus text format writes every sample.
        for &(quantile, v) in s.quantiles() {
            if OPENMETRICS && v < 0.0 {
                continue;
            }
            self.head(name, "", labels, Some(("quantile", quantile)))?;
            self.f64(v)?;
            self.bytes(b"\n")?;
        }
        if !OPENMETRICS || counter_like(s.sum()) {
            self.head(name, "_sum", labels, None)?;
            self.f64(s.sum())?;
            self.bytes(b"\n")?;
        }
        self.head(name, "_count", labels, None)?;
        self.u64(s.count())?;
        self.bytes(b"\n")?;
        if OPENMETRICS {
            self.created(name, labels, created)?;
        }
        Ok(())
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
        self.line_head(name, counter_suffix::<OPENMETRICS>(name), labels)
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

/// The fast path's line: the template's blocks with the label values between them, then
/// `value` and `\n`.
#[cfg(not(feature = "small"))]
#[inline(always)]
fn fill_line(
    room: &mut Room<'_>,
    blocks: &Blocks,
    mids: &[([u8; MID_BLOCK], usize)],
    labels: &SeriesLabels<'_>,
    value: Sample,
) -> Option<()> {
    room.block(&blocks.head, blocks.head_len)?;
    if let Some(mut values) = labels.encoded_values() {
        for (block, len) in mids {
            room.clean_value(values.next_bytes()?)?;
            room.block(block, *len)?;
        }
    } else if let Some((index, value_of)) = labels.typed_parts() {
        for (at, (block, len)) in mids.iter().enumerate() {
            room.clean_value(value_of(index, at).as_bytes())?;
            room.block(block, *len)?;
        }
    } else if !mids.is_empty() {
        // Plain strings (a custom collector's): the general path.
        return None;
    }
    room.sample(value)?;
    room.put(b"\n")
}

/// Writes the label values between a template's fragments (after the first, which the
/// caller wrote), closing the braces early if there are fewer values than names.
#[cfg(not(feature = "small"))]
#[inline(always)]
fn fill<'v, S: Sink + ?Sized>(
    out: &mut Out<'_, S>,
    template: &Template,
    mut next: impl FnMut(usize) -> Option<&'v [u8]>,
) -> Result<(), Full> {
    let mut i = 0;
    while i < template.labels {
        let Some(value) = next(i) else {
            break;
        };
        i += 1;
        out.escaped(value, true)?;
        out.bytes(template.fragment(i))?;
    }
    if i < template.labels {
        out.bytes(b"\"} ")?;
    }
    Ok(())
}

/// What follows a counter's registered name on its sample lines: nothing, except in
/// OpenMetrics for a name without `_total` (the registry requires it of counters, but a
/// custom source may not).
#[inline(always)]
fn counter_suffix<const OPENMETRICS: bool>(name: &str) -> &'static str {
    if OPENMETRICS && !name.ends_with("_total") {
        "_total"
    } else {
        ""
    }
}

/// Whether OpenMetrics accepts `value` as a counter-like sample: not NaN, not negative.
fn counter_like(value: f64) -> bool {
    value >= 0.0
}

/// Whether an OpenMetrics histogram may carry `_sum` (and so `_count`): its sum is
/// counter-like and no bucket bound is negative.
fn openmetrics_sum_allowed(h: &HistogramValue<'_>) -> bool {
    counter_like(h.sum()) && h.bounds().first().is_none_or(|first| *first >= 0.0)
}

/// The OpenMetrics family name: a counter's name without `_total`.
pub(crate) fn openmetrics_family_name(name: &str, kind: MetricKind) -> &str {
    match kind {
        MetricKind::Counter => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "small"))]
    #[test]
    fn escaping_check_matches_a_byte_by_byte_scan() {
        let pool = [
            b'a',
            b'\\',
            b'\n',
            b'"',
            0,
            0x80,
            0xff,
            b'\\' ^ 0x80,
            b'"' + 1,
            b'\n' - 1,
        ];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        // Fewer under miri, which interprets every instruction.
        for _ in 0..if cfg!(miri) { 500 } else { 200_000 } {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 41) as usize;
            let bytes: std::vec::Vec<u8> = (0..len)
                .map(|i| pool[((x >> (i % 60)) as usize + i) % pool.len()])
                .collect();
            for quotes in [false, true] {
                let naive = bytes
                    .iter()
                    .any(|&b| b == b'\\' || b == b'\n' || (quotes && b == b'"'));
                assert_eq!(needs_escaping(&bytes, quotes), naive, "{bytes:?} {quotes}");
            }
        }
    }

    #[cfg(not(feature = "small"))]
    #[test]
    fn fast_value_check_matches_a_byte_by_byte_scan() {
        let pool = [
            b'a',
            b'\\',
            b'\n',
            b'"',
            0,
            b' ',
            b'#',
            b'"' + 1,
            0x80,
            0xdc,
            0xff,
            b'\\' + 1,
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..if cfg!(miri) { 500 } else { 200_000 } {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 24) as usize;
            let bytes: std::vec::Vec<u8> = (0..len)
                .map(|i| pool[((x >> (i % 60)) as usize + i * 7) % pool.len()])
                .collect();
            let naive = bytes.iter().any(|&b| b == b'\\' || b == b'\n' || b == b'"');
            let word = u64::from_le_bytes(core::array::from_fn(|i| {
                bytes.get(i).copied().unwrap_or(b'a')
            }));
            if special(word, true) {
                assert!(suspect(word), "{bytes:?}");
            }
            let mut buf = [0xeeu8; 64];
            let mut room = Room { rest: &mut buf };
            let written = room.clean_value(&bytes);
            let left = room.rest.len();
            assert_eq!(written.is_none(), naive, "{bytes:?}");
            if written.is_some() {
                assert_eq!(left, 64 - len);
                assert_eq!(&buf[..len], &bytes[..]);
            }
        }
    }

    #[test]
    fn integers_match_itoa() {
        let mut values = std::vec![0, 1, 9, 10, 99, 100, 101, 999, 1000, u64::MAX, u64::MAX - 1];
        values.extend([
            123_456_789,
            987_654_321,
            100_000_007,
            500_000_000,
            10_203_040_506,
        ]);
        for p in 0..20 {
            let x = 10u64.pow(p);
            values.extend([x - 1, x, x + 1]);
        }
        let mut buf = [0u8; 4096];
        let mut sink = crate::encode::SliceSink::new(&mut buf);
        let mut expected = std::string::String::new();
        {
            let mut writer = Writer::new(&mut sink);
            for v in &values {
                writer.u64(*v).unwrap();
                writer.bytes(b" ").unwrap();
                expected.push_str(itoa::Buffer::new().format(*v));
                expected.push(' ');
            }
        }
        assert_eq!(sink.as_str(), expected);
    }

    #[cfg(not(feature = "small"))]
    #[test]
    fn short_copies_copy_exactly() {
        let src: std::vec::Vec<u8> = (0..100u8).collect();
        for n in 0..=100 {
            let mut dst = [0xeeu8; 120];
            copy_short(&mut dst, &src[..n]);
            assert_eq!(&dst[..n], &src[..n]);
            assert!(dst[n..].iter().all(|&b| b == 0xee));
        }
    }
}
