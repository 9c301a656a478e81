//! How a dynamic series stores its label values: each value as a LEB128 length followed by
//! its UTF-8 bytes, back to back, inside the slot's fixed key buffer.

/// Bytes the LEB128 length prefix of `len` takes.
#[inline]
pub(crate) const fn prefix_len(len: usize) -> usize {
    let mut bytes = 1;
    let mut rest = len >> 7;
    while rest != 0 {
        bytes += 1;
        rest >>= 7;
    }
    bytes
}

/// Total encoded size of `values`.
#[inline]
pub(crate) fn encoded_len(values: &[&str]) -> usize {
    values.iter().map(|v| prefix_len(v.len()) + v.len()).sum()
}

/// Writes `values` into `out`; returns `false` (writing nothing useful) if they do not fit.
pub(crate) fn encode(values: &[&str], out: &mut [u8]) -> bool {
    let mut at = 0;
    for value in values {
        let mut len = value.len();
        loop {
            let Some(byte) = out.get_mut(at) else {
                return false;
            };
            let low = (len & 0x7f) as u8;
            len >>= 7;
            *byte = if len == 0 { low } else { low | 0x80 };
            at += 1;
            if len == 0 {
                break;
            }
        }
        let Some(dest) = out.get_mut(at..at + value.len()) else {
            return false;
        };
        dest.copy_from_slice(value.as_bytes());
        at += value.len();
    }
    true
}

/// Reads a LEB128 length at the start of `bytes`: `(length, prefix bytes)`.
#[inline]
fn read_prefix(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut len = 0usize;
    let mut shift = 0u32;
    for (i, byte) in bytes.iter().enumerate() {
        len |= usize::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some((len, i + 1));
        }
        shift += 7;
    }
    None
}

/// Whether the encoded `stored` key holds exactly `values`.
#[inline]
pub(crate) fn matches(stored: &[u8], values: &[&str]) -> bool {
    let mut at = 0;
    for value in values {
        let value = value.as_bytes();
        // Fast path: lengths below 128 are a single prefix byte.
        let (len, prefix) = match stored.get(at) {
            Some(&b) if b < 0x80 => (usize::from(b), 1),
            Some(_) => match read_prefix(&stored[at..]) {
                Some(p) => p,
                None => return false,
            },
            None => return false,
        };
        if len != value.len() {
            return false;
        }
        at += prefix;
        match stored.get(at..at + len) {
            Some(bytes) if bytes == value => at += len,
            _ => return false,
        }
    }
    true
}

/// The label values of one stored key, decoded lazily.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EncodedValues<'a> {
    bytes: &'a [u8],
    remaining: usize,
}

impl<'a> EncodedValues<'a> {
    pub(crate) fn new(bytes: &'a [u8], count: usize) -> Self {
        Self {
            bytes,
            remaining: count,
        }
    }
}

impl<'a> Iterator for EncodedValues<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let (len, prefix) = read_prefix(self.bytes)?;
        let value = self.bytes.get(prefix..prefix + len)?;
        self.bytes = &self.bytes[prefix + len..];
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
        let values = ["GET", "", long.as_str(), "é\"\\\n"];
        let mut buf = [0u8; 400];
        assert_eq!(encoded_len(&values), (1 + 3) + 1 + (2 + 300) + (1 + 5));
        assert!(encode(&values, &mut buf));
        assert!(matches(&buf, &values));
        assert!(!matches(&buf, &["GET", "", long.as_str(), "é"]));
        assert!(!matches(&buf, &["GEX", "", long.as_str(), "é\"\\\n"]));
        let decoded: std::vec::Vec<&str> = EncodedValues::new(&buf, 4).collect();
        assert_eq!(decoded, values);
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let mut buf = [0u8; 4];
        assert!(!encode(&["abcd"], &mut buf));
        assert!(encode(&["abc"], &mut buf));
    }

    #[test]
    fn prefix_lengths() {
        assert_eq!(prefix_len(0), 1);
        assert_eq!(prefix_len(127), 1);
        assert_eq!(prefix_len(128), 2);
        assert_eq!(prefix_len(16383), 2);
        assert_eq!(prefix_len(16384), 3);
    }
}
