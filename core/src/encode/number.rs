//! Number rendering for both text formats.
//!
//! - Unsigned integers (counter values, bucket counts) are written by `write_u64`: eight
//!   digits at a time in one 64-bit word, the digit count from a leading-zero count and a
//!   table; `i64` gauges, and every integer in the size-oriented configuration, by
//!   [`itoa`].
//! - Floats are written in the OpenMetrics *canonical* form, which both formats accept:
//!   the shortest decimal that reads back as the same `f64` (digits from [`zmij`], a
//!   Schubfach-based shortest round-trip formatter by the author of `ryu`), laid out the
//!   way Go's `strconv.FormatFloat(v, 'g', -1, 64)` lays it out — exponent form when the
//!   decimal exponent is below -4 or at least 6, with a sign and at least two exponent
//!   digits (`1e+06`, `1e-05`) — and `.0` appended when the result has neither a point
//!   nor an exponent (`1.0`, `100000.0`). Infinities and NaN are `+Inf`, `-Inf`, `NaN`.
//!
//! The layout matters for `le` and `quantile` label values: they are compared as strings,
//! and OpenMetrics prescribes exactly this rendering for them (`0.001`, `1.0`, `100000.0`,
//! `1e+06`). Neither `ryu` nor `zmij` lays numbers out that way by itself (`ryu` writes
//! `1e16` and `1000000.0`, `zmij` writes `1e+16` and `1000000.0`), so only their digits
//! are used. Python's `float()` and Go's `ParseFloat` read every form written here.
//! - Timestamps (`_created`, exemplars) are Unix nanoseconds written as exact decimal
//!   seconds (`1520879607.789`), never in exponent form.

/// Room for the longest rendering: 24 bytes (`-0.00001234567890123456` or
/// `-1.2345678901234567e+308`), with a margin.
pub(crate) const FLOAT_MAX: usize = 32;

/// A rendered number: a small inline buffer and its length.
pub(crate) struct NumBuf {
    bytes: [u8; FLOAT_MAX],
    len: usize,
}

impl NumBuf {
    #[inline]
    const fn new() -> Self {
        Self {
            bytes: [0; FLOAT_MAX],
            len: 0,
        }
    }

    #[inline]
    fn push(&mut self, b: u8) {
        // Callers never write more than FLOAT_MAX bytes (see `float`); `get_mut` keeps an
        // impossible overflow from panicking.
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    #[inline]
    fn extend(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push(b);
        }
    }

    /// The rendered bytes.
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Eight decimal digits of `v` (below 100,000,000), most significant first, one per byte of
/// the little-endian result (values 0 to 9, not yet ASCII; leading zeros included).
///
/// Four lanes at a time: the two halves of `v` (4 digits each) split into pairs of digits,
/// then into digits, with multiply-and-shift divisions that are exact in these ranges.
#[cfg(not(feature = "small"))]
#[inline(always)]
fn digits8(v: u32) -> u64 {
    let merged = u64::from(v / 10_000) | (u64::from(v % 10_000) << 32);
    // Each 32-bit lane (below 10,000) divided by 100: x * 10486 >> 20 is exact below 10^4.
    let hundreds_hi = ((merged * 10_486) >> 20) & ((0x7f << 32) | 0x7f);
    let hundreds_lo = merged - 100 * hundreds_hi;
    let pairs = (hundreds_lo << 16) + hundreds_hi;
    // Each 16-bit lane (below 100) divided by 10: x * 103 >> 10 is exact below 100.
    let tens = ((pairs * 103) >> 10) & ((0xf << 48) | (0xf << 32) | (0xf << 16) | 0xf);
    tens + ((pairs - 10 * tens) << 8)
}

#[cfg(not(feature = "small"))]
const ASCII: u64 = 0x3030_3030_3030_3030;
#[cfg(not(feature = "small"))]
const E8: u64 = 100_000_000;

/// For each `floor(log2(v))` of a `u32` `v`, what [`decimal_len`] adds to `v` so that the
/// high word of the sum is `v`'s number of decimal digits: `(d + 1) << 32` less `10^d`,
/// where `d` is the digit count of the smallest `v` with that logarithm, as long as the
/// range reaches `10^d` and `10^d` is within 2^32 of its start (the carry then tells the
/// two digit counts apart), else `d << 32`.
#[cfg(not(feature = "small"))]
static DIGIT_COUNT: [u64; 32] = {
    let mut table = [0; 32];
    let mut log2 = 0;
    while log2 < 32 {
        let low = 1u64 << log2;
        let (mut digits, mut power) = (1, 10u64);
        while power <= low {
            digits += 1;
            power *= 10;
        }
        table[log2] = if power - low <= 1 << 32 {
            ((digits + 1) << 32) - power
        } else {
            digits << 32
        };
        log2 += 1;
    }
    table
};

/// How many decimal digits `v` has (1 for 0): a leading-zero count, a table load and an
/// add, a short dependency chain apart from the digits themselves, so that where the next
/// bytes go is known before the digits are.
#[cfg(not(feature = "small"))]
#[inline(always)]
fn decimal_len(v: u32) -> usize {
    let log2 = 31 - (v | 1).leading_zeros();
    ((u64::from(v) + DIGIT_COUNT[log2 as usize]) >> 32) as usize
}

/// The digits of `v` (below 100,000,000) without leading zeros: 8 bytes to write, of which
/// the returned count are the number.
#[cfg(not(feature = "small"))]
#[inline(always)]
fn leading(v: u32) -> ([u8; 8], usize) {
    let n = decimal_len(v);
    // Most significant digit in the lowest byte: the leading zeros are the low 8 - n bytes.
    (((digits8(v) + ASCII) >> (8 * (8 - n))).to_le_bytes(), n)
}

/// Writes `v` in decimal at the start of `out` and returns how many bytes it took (1 to
/// 20). It may scribble on bytes of `out` past those: the caller counts only the returned
/// length.
#[cfg(not(feature = "small"))]
#[inline(always)]
pub(crate) fn write_u64(out: &mut [u8; 24], v: u64) -> usize {
    if v < E8 {
        let (head, n) = leading(v as u32);
        out[..8].copy_from_slice(&head);
        return n;
    }
    if v < 10 * E8 {
        // Nine digits, also inline: counters of a busy service reach them soon.
        out[0] = b'0' + (v / E8) as u8;
        out[1..9].copy_from_slice(&(digits8((v % E8) as u32) + ASCII).to_le_bytes());
        return 9;
    }
    write_u64_long(out, v)
}

/// [`write_u64`] from 1,000,000,000 up.
#[cfg(not(feature = "small"))]
#[inline(never)]
fn write_u64_long(out: &mut [u8; 24], v: u64) -> usize {
    #[inline(always)]
    fn full(out: &mut [u8; 24], at: usize, v: u32) {
        if let Some(dest) = out.get_mut(at..at + 8) {
            dest.copy_from_slice(&(digits8(v) + ASCII).to_le_bytes());
        }
    }
    if v < E8 * E8 {
        let (head, n) = leading((v / E8) as u32);
        out[..8].copy_from_slice(&head);
        full(out, n, (v % E8) as u32);
        return n + 8;
    }
    let (head, n) = leading((v / (E8 * E8)) as u32);
    out[..8].copy_from_slice(&head);
    let rest = v % (E8 * E8);
    full(out, n, (rest / E8) as u32);
    full(out, n + 8, (rest % E8) as u32);
    n + 16
}

/// Renders `value` in canonical form (see the module docs).
pub(crate) fn float(value: f64) -> NumBuf {
    let mut out = NumBuf::new();
    if value.is_nan() {
        out.extend(b"NaN");
        return out;
    }
    if value.is_infinite() {
        out.extend(if value > 0.0 { b"+Inf" } else { b"-Inf" });
        return out;
    }
    // Fast path: whole numbers below one million are written as integers plus `.0`, which
    // is what the general path produces for them (their decimal exponent is below 6). Most
    // bucket bounds and many sums are such numbers.
    if value.abs() < 1e6 && value == (value as i64) as f64 {
        if value.is_sign_negative() {
            out.push(b'-');
        }
        let mut digits = itoa::Buffer::new();
        out.extend(digits.format(value.abs() as u64).as_bytes());
        out.extend(b".0");
        return out;
    }

    let mut shortest = zmij::Buffer::new();
    let text = shortest.format_finite(value).as_bytes();
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'e') {
        Some(at) => (&text[..at], parse_exponent(&text[at + 1..])),
        None => (text, 0),
    };

    // Collect the significant digits and where the decimal point falls among them:
    // value = 0.d1 d2 ... dn * 10^point.
    let mut digits = [0u8; 24];
    let mut count = 0usize;
    let mut point = 0i32;
    let mut seen_point = false;
    let mut leading = true;
    for &b in mantissa {
        if b == b'.' {
            seen_point = true;
            continue;
        }
        if leading && b == b'0' {
            if seen_point {
                point -= 1;
            }
            continue;
        }
        leading = false;
        if let Some(slot) = digits.get_mut(count) {
            *slot = b;
            count += 1;
        }
        if !seen_point {
            point += 1;
        }
    }
    while count > 1 && digits[count - 1] == b'0' {
        count -= 1;
    }
    if count == 0 {
        // Zero; unreachable here (the fast path took it) but kept total.
        out.extend(if negative { b"-0.0" } else { b"0.0" });
        return out;
    }
    point += exponent;
    let digits = &digits[..count];

    if negative {
        out.push(b'-');
    }
    let exp10 = point - 1;
    if !(-4..6).contains(&exp10) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp10 < 0 { b'-' } else { b'+' });
        let magnitude = exp10.unsigned_abs();
        if magnitude < 10 {
            out.push(b'0');
        }
        let mut exp_digits = itoa::Buffer::new();
        out.extend(exp_digits.format(magnitude).as_bytes());
        return out;
    }
    // Fixed layout, -4 <= exp10 <= 5: at most 6 integer digits or 4 leading zeros.
    if point <= 0 {
        out.extend(b"0.");
        for _ in 0..(-point) {
            out.push(b'0');
        }
        out.extend(digits);
        return out;
    }
    let point = point as usize;
    if digits.len() <= point {
        out.extend(digits);
        for _ in digits.len()..point {
            out.push(b'0');
        }
        out.extend(b".0");
    } else {
        out.extend(&digits[..point]);
        out.push(b'.');
        out.extend(&digits[point..]);
    }
    out
}

fn parse_exponent(text: &[u8]) -> i32 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let magnitude = digits
        .iter()
        .fold(0i32, |acc, d| acc * 10 + i32::from(d.wrapping_sub(b'0')));
    if negative { -magnitude } else { magnitude }
}

/// Renders Unix nanoseconds as exact decimal seconds: `1520879607.789`, `1605281325.0`.
pub(crate) fn timestamp(unix_nanos: u64) -> NumBuf {
    let mut out = NumBuf::new();
    let seconds = unix_nanos / 1_000_000_000;
    let mut fraction = (unix_nanos % 1_000_000_000) as u32;
    let mut digits = itoa::Buffer::new();
    out.extend(digits.format(seconds).as_bytes());
    out.push(b'.');
    if fraction == 0 {
        out.push(b'0');
        return out;
    }
    let mut width = 9;
    while fraction.is_multiple_of(10) {
        fraction /= 10;
        width -= 1;
    }
    let text = digits.format(fraction).as_bytes();
    for _ in text.len()..width {
        out.push(b'0');
    }
    out.extend(text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(value: f64) -> std::string::String {
        std::string::String::from_utf8(float(value).as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn openmetrics_canonical_examples() {
        // The two example lists of the OpenMetrics 1.0 "Canonical Numbers" section.
        let cases = [
            (0.0, "0.0"),
            (0.001, "0.001"),
            (0.002, "0.002"),
            (0.01, "0.01"),
            (0.1, "0.1"),
            (0.9, "0.9"),
            (0.95, "0.95"),
            (0.99, "0.99"),
            (0.999, "0.999"),
            (1.0, "1.0"),
            (1.7, "1.7"),
            (10.0, "10.0"),
            (1e-10, "1e-10"),
            (1e-9, "1e-09"),
            (1e-5, "1e-05"),
            (1e-4, "0.0001"),
            (100000.0, "100000.0"),
            (1e6, "1e+06"),
            (1e10, "1e+10"),
            (1e23, "1e+23"),
            (1.1e23, "1.1e+23"),
        ];
        for (value, text) in cases {
            assert_eq!(f(value), text, "{value:e}");
        }
    }

    #[test]
    fn go_g_layout() {
        let cases = [
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (-0.0, "-0.0"),
            (-2.5, "-2.5"),
            (8500.5, "8500.5"),
            (123456.7, "123456.7"),
            (999999.0, "999999.0"),
            (1234567.0, "1.234567e+06"),
            (123456789.0, "1.23456789e+08"),
            (0.00012345, "0.00012345"),
            (0.000012345, "1.2345e-05"),
            (1e100, "1e+100"),
            (-1.5e-300, "-1.5e-300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "5e-324"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1520879607.789, "1.520879607789e+09"),
        ];
        for (value, text) in cases {
            assert_eq!(f(value), text, "{value:e}");
        }
    }

    #[test]
    fn round_trips() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        // Fewer under miri, which interprets every instruction.
        for _ in 0..if cfg!(miri) { 200 } else { 20_000 } {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let value = f64::from_bits(x);
            if !value.is_finite() {
                continue;
            }
            let text = f(value);
            assert!(text.len() <= FLOAT_MAX);
            let back: f64 = text.parse().unwrap();
            assert_eq!(back.to_bits(), value.to_bits(), "{text}");
        }
    }

    #[cfg(not(feature = "small"))]
    #[test]
    fn integers_match_itoa() {
        let mut values = std::vec![0, 1, 9, 10, 99, 100, 101, 999, 1000, u64::MAX, u64::MAX - 1];
        for p in 0..20 {
            let x = 10u64.pow(p);
            values.extend([x - 1, x, x + 1, x / 3, x / 9 * 7]);
        }
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..if cfg!(miri) { 200 } else { 100_000 } {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.extend([x, x >> (x % 64), x % 100_000_000]);
        }
        for v in values {
            let mut out = [0xee; 24];
            let n = write_u64(&mut out, v);
            assert_eq!(&out[..n], itoa::Buffer::new().format(v).as_bytes(), "{v}");
        }
    }

    #[cfg(not(feature = "small"))]
    #[test]
    fn digit_counts_across_every_boundary() {
        // Where the count changes (powers of ten) and where the table entry changes
        // (powers of two), over the whole u32 range.
        let mut values = std::vec![0, 1, u32::MAX];
        for p in 1..10 {
            let x = 10u32.pow(p);
            values.extend([x - 1, x, x + 1]);
        }
        for log2 in 0..32 {
            let x = 1u32 << log2;
            values.extend([x - 1, x, x | (x - 1)]);
        }
        for v in values {
            assert_eq!(decimal_len(v), itoa::Buffer::new().format(v).len(), "{v}");
        }
    }

    #[test]
    fn timestamps() {
        let t = |n| std::string::String::from_utf8(timestamp(n).as_bytes().to_vec()).unwrap();
        assert_eq!(t(1_520_879_607_789_000_000), "1520879607.789");
        assert_eq!(t(1_605_281_325_000_000_000), "1605281325.0");
        assert_eq!(t(5), "0.000000005");
        assert_eq!(t(u64::MAX), "18446744073.709551615");
    }
}
