//! Byte-parallel tests on a word of bytes: which bytes are zero, found without a branch
//! per byte. The dynamic table's probe runs them over eight hint bytes at a time, the
//! remembered label sets over their tag bytes.

/// A word whose bytes are tested side by side (`u64`, `usize`).
pub(crate) trait ByteWord: Copy {
    /// `byte` in every byte of the word.
    fn splat(byte: u8) -> Self;
    /// The high bit of each byte of the word that is zero, and perhaps of some bytes above
    /// a zero one (a borrow): a caller that reads such a byte's item reads it for nothing,
    /// never skips one.
    fn zero_bytes(self) -> Self;
    /// The high bit of each byte of the word that is zero, and of no other byte.
    fn exact_zero_bytes(self) -> Self;
    /// The indices of the bytes whose high bit is set (as the masks above mark them),
    /// lowest first.
    #[inline(always)]
    fn marked_bytes(self) -> MarkedBytes<Self> {
        MarkedBytes(self)
    }
}

/// The indices of the marked bytes of a word, lowest first (see
/// [`ByteWord::marked_bytes`]): one `trailing_zeros` and one clear of the lowest bit each.
pub(crate) struct MarkedBytes<W>(W);

macro_rules! byte_word {
    ($($word:ty),*) => {$(
        impl ByteWord for $word {
            #[inline(always)]
            fn splat(byte: u8) -> Self {
                <$word>::MAX / 255 * <$word>::from(byte)
            }

            #[inline(always)]
            fn zero_bytes(self) -> Self {
                const LOW: $word = <$word>::MAX / 255;
                self.wrapping_sub(LOW) & !self & (LOW << 7)
            }

            #[inline(always)]
            fn exact_zero_bytes(self) -> Self {
                const HIGH: $word = <$word>::MAX / 255 << 7;
                !(((self & !HIGH) + !HIGH) | self) & HIGH
            }
        }

        impl Iterator for MarkedBytes<$word> {
            type Item = usize;

            #[inline(always)]
            fn next(&mut self) -> Option<usize> {
                if self.0 == 0 {
                    return None;
                }
                let k = self.0.trailing_zeros() as usize / 8;
                self.0 &= self.0 - 1;
                Some(k)
            }
        }
    )*};
}

byte_word!(u64, usize);
