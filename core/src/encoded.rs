//! How a dynamic series stores its label values inside its slot's fixed key buffer: a
//! header of one little-endian `u16` length per value, then the values' UTF-8 bytes back
//! to back.
//!
//! ```text
//!   [len_0 lo, len_0 hi, len_1 lo, len_1 hi, ... | bytes_0 | bytes_1 | ...]
//! ```
//!
//! The header sits at fixed offsets, so a lookup compares every length first (a few
//! constant-offset loads) and then each value's bytes at offsets it already knows.

/// Bytes the header takes for `labels` values.
#[inline(always)]
const fn header_len(labels: usize) -> usize {
    2 * labels
}

/// Total encoded size of `values`, or `None` if a value is longer than a `u16` can say.
#[inline]
pub(crate) fn encoded_len(values: &[&str]) -> Option<usize> {
    let mut total = header_len(values.len());
    for value in values {
        u16::try_from(value.len()).ok()?;
        total += value.len();
    }
    Some(total)
}

/// Writes `values` into `out`; returns `false` (leaving `out` unusable) if they do not fit.
pub(crate) fn encode(values: &[&str], out: &mut [u8]) -> bool {
    let mut at = header_len(values.len());
    for (i, value) in values.iter().enumerate() {
        let Ok(len) = u16::try_from(value.len()) else {
            return false;
        };
        let Some(slot) = out.get_mut(2 * i..2 * i + 2) else {
            return false;
        };
        slot.copy_from_slice(&len.to_le_bytes());
        let Some(dest) = out.get_mut(at..at + value.len()) else {
            return false;
        };
        dest.copy_from_slice(value.as_bytes());
        at += value.len();
    }
    true
}

/// Equality of two byte strings, without a call into `memcmp` for the short strings label
/// values usually are: up to 16 bytes compare as a few overlapping loads from each side.
#[inline(always)]
pub(crate) fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    #[inline(always)]
    fn word<const N: usize>(s: &[u8], at: usize) -> [u8; N] {
        let mut out = [0; N];
        if let Some(bytes) = s.get(at..at + N) {
            out.copy_from_slice(bytes);
        }
        out
    }
    let len = a.len();
    if len != b.len() {
        return false;
    }
    match len {
        0 => true,
        // First, middle and last byte cover every byte of a one- to three-byte string.
        1..=3 => {
            let pack = |s: &[u8]| {
                u32::from(s[0]) | u32::from(s[len / 2]) << 8 | u32::from(s[len - 1]) << 16
            };
            pack(a) == pack(b)
        }
        4..=7 => {
            word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, len - 4) == word::<4>(b, len - 4)
        }
        8..=16 => {
            word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, len - 8) == word::<8>(b, len - 8)
        }
        // Eight bytes at a time, the last word overlapping: no call into `memcmp` for the
        // names and values of a few dozen bytes that metrics have.
        17..=64 => {
            let mut at = 0;
            while at + 8 < len {
                if word::<8>(a, at) != word::<8>(b, at) {
                    return false;
                }
                at += 8;
            }
            word::<8>(a, len - 8) == word::<8>(b, len - 8)
        }
        _ => a == b,
    }
}

/// Whether the encoded `stored` key holds exactly `values`.
#[inline(always)]
pub(crate) fn matches<const KEY_BYTES: usize, const LABELS: usize>(
    stored: &[u8; KEY_BYTES],
    values: &[&str; LABELS],
) -> bool {
    // Lengths first: constant offsets, no parsing.
    for (i, value) in values.iter().enumerate() {
        let Some(&[lo, hi]) = stored.get(2 * i..2 * i + 2) else {
            return false;
        };
        if usize::from(u16::from_le_bytes([lo, hi])) != value.len() {
            return false;
        }
    }
    let mut at = header_len(LABELS);
    for value in values {
        let end = at + value.len();
        match stored.get(at..end) {
            Some(bytes) if bytes_eq(bytes, value.as_bytes()) => at = end,
            _ => return false,
        }
    }
    true
}

/// The label values of one stored key, decoded lazily.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EncodedValues<'a> {
    bytes: &'a [u8],
    count: usize,
    next: usize,
    at: usize,
}

impl<'a> EncodedValues<'a> {
    pub(crate) fn new(bytes: &'a [u8], count: usize) -> Self {
        Self {
            bytes,
            count,
            next: 0,
            at: header_len(count),
        }
    }
}

impl<'a> EncodedValues<'a> {
    /// The next value's bytes, without checking that they are UTF-8 (they were copied from
    /// a `&str`): for writers that only copy them, such as the text encoders. Always
    /// inline: it is a few instructions, called per label of every series rendered.
    #[inline(always)]
    pub(crate) fn next_bytes(&mut self) -> Option<&'a [u8]> {
        if self.next == self.count {
            return None;
        }
        let len = match self.bytes.get(2 * self.next..2 * self.next + 2) {
            Some(&[lo, hi]) => usize::from(u16::from_le_bytes([lo, hi])),
            _ => return None,
        };
        self.next += 1;
        let value = self.bytes.get(self.at..self.at + len)?;
        self.at += len;
        Some(value)
    }
}

impl<'a> Iterator for EncodedValues<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let value = self.next_bytes()?;
        // The bytes were copied from a `&str` and are never modified, so this cannot fail;
        // if it somehow did, an empty value is rendered rather than a panic.
        Some(core::str::from_utf8(value).unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_short_and_long_values() {
        let long = "x".repeat(300);
        let values = ["GET", "", long.as_str(), "é\"\\\n", "abcdefghij", "abcde"];
        let mut buf = [0u8; 400];
        assert_eq!(encoded_len(&values), Some(2 * 6 + 3 + 300 + 5 + 10 + 5));
        assert!(encode(&values, &mut buf));
        assert!(matches(&buf, &values));
        let decoded: std::vec::Vec<&str> = EncodedValues::new(&buf, 6).collect();
        assert_eq!(decoded, values);
        // Every single-byte change in any value is seen.
        for (i, value) in values.iter().enumerate() {
            for at in 0..value.len() {
                let mut bytes = value.as_bytes().to_vec();
                bytes[at] ^= 1;
                let changed = std::string::String::from_utf8_lossy(&bytes).into_owned();
                let mut other = values;
                other[i] = &changed;
                assert!(!matches(&buf, &other), "value {i} byte {at}");
            }
        }
        // Moving a byte from one value to the next is seen, although the bytes are equal.
        assert!(!matches(
            &buf,
            &["GE", "T", long.as_str(), "é\"\\\n", "abcdefghij", "abcde"]
        ));
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let mut buf = [0u8; 6];
        assert!(!encode(&["abcde"], &mut buf));
        assert!(encode(&["abcd"], &mut buf));
        let huge = "y".repeat(70_000);
        assert_eq!(encoded_len(&[&huge]), None);
    }
}
