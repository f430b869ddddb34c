//! Byte searches eight bytes at a time, for the hot loops of profile decoding: a profile is
//! some 200,000 short lines, where `str::find` spends more time starting than searching.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The high bit of the lowest zero byte of `v` is set in the result, and no lower bit (higher
/// bits may be set spuriously, so only the lowest one counts).
#[inline]
fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(LO) & !v & HI
}

/// Bytes of `w` equal to `b` (lowest one exact, see [`zero_bytes`]).
#[inline]
fn equal_bytes(w: u64, b: u8) -> u64 {
    zero_bytes(w ^ (LO * u64::from(b)))
}

/// Index of the lowest flagged byte of a nonzero mask.
#[inline]
fn lowest(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

/// Up to eight bytes as a little-endian word, zero-padded.
#[inline]
pub(crate) fn word(bytes: &[u8]) -> u64 {
    match <[u8; 8]>::try_from(bytes) {
        Ok(w) => u64::from_le_bytes(w),
        Err(_) => {
            let mut w = [0u8; 8];
            let n = bytes.len().min(8);
            w[..n].copy_from_slice(&bytes[..n]);
            u64::from_le_bytes(w)
        }
    }
}

/// Index of the first `byte` in `hay`.
pub(crate) fn find_byte(hay: &[u8], byte: u8) -> Option<usize> {
    let mut chunks = hay.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let m = equal_bytes(word(chunk), byte);
        if m != 0 {
            return Some(at + lowest(m));
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == byte)
        .map(|i| at + i)
}

/// Flags the wildcard bytes kmod's literal prefix stops at (`*`, `?`, `[`) in a word; the
/// lowest flag is exact.
#[inline]
pub(crate) fn wildcards(w: u64) -> u64 {
    equal_bytes(w, b'*') | equal_bytes(w, b'?') | equal_bytes(w, b'[')
}

/// Step of the prefix hash (FxHash's): fast, and its high bits are well mixed.
#[inline]
pub(crate) fn mix(h: u64, w: u64) -> u64 {
    (h.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// Hash of a byte string: its words (the last one zero-padded), then its length.
pub(crate) fn hash(bytes: &[u8]) -> u64 {
    let mut h = 0;
    for chunk in bytes.chunks(8) {
        h = mix(h, word(chunk));
    }
    mix(h, bytes.len() as u64)
}

/// `(literal_prefix_len(pattern), hash(literal prefix))` in one pass, eight bytes at a time.
pub(crate) fn literal_prefix_hash(pattern: &[u8]) -> (usize, u64) {
    let mut h = 0;
    let mut at = 0;
    for chunk in pattern.chunks(8) {
        // Zero padding of the last chunk holds no wildcard.
        let w = word(chunk);
        let m = wildcards(w);
        if m != 0 {
            let j = lowest(m);
            if j > 0 {
                h = mix(h, w & ((1u64 << (8 * j)) - 1));
            }
            return (at + j, mix(h, (at + j) as u64));
        }
        h = mix(h, w);
        at += chunk.len();
    }
    (at, mix(h, at as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fnmatch::literal_prefix_len;
    use crate::sample::Rng;

    /// Random strings over an alphabet rich in the bytes searched for (and UTF-8).
    fn strings() -> Vec<String> {
        let alphabet = [
            "a", "Z", "0", "*", "?", "[", "]", "\t", "\n", ":", "é", "\u{80}", "v",
        ];
        let mut rng = Rng::new(7);
        (0..4000)
            .map(|_| {
                let len = rng.below(40);
                (0..len)
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn find_byte_is_position() {
        for s in strings() {
            for b in [b'\t', b'\n', b'*', 0xA9, 0x80] {
                assert_eq!(
                    find_byte(s.as_bytes(), b),
                    s.bytes().position(|c| c == b),
                    "{s:?} {b}"
                );
            }
        }
    }

    #[test]
    fn fused_prefix_hash_agrees() {
        for s in strings() {
            let plen = literal_prefix_len(&s);
            let prefix = &s.as_bytes()[..plen];
            assert_eq!(
                literal_prefix_hash(s.as_bytes()),
                (plen, hash(prefix)),
                "{s:?}"
            );
        }
    }
}
pub(crate) fn literal_prefix_len(pattern: &[u8]) -> usize {
    pattern.iter().position(|c| matches!(c, b'*' | b'?' | b'[')).unwrap_or(pattern.len())
}
