//! The prefix hash of the alias filter: a pattern's literal prefix (the text before its first
//! wildcard, found by `memchr`) hashed eight bytes at a time.

/// Up to eight bytes as a little-endian word, zero-padded.
#[inline]
fn word(bytes: &[u8]) -> u64 {
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

/// Step of the prefix hash (FxHash's): fast, and its high bits are well mixed.
#[inline]
fn mix(h: u64, w: u64) -> u64 {
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

/// Where kmod's literal prefix of a pattern ends: its first `*`, `?` or `[`.
#[inline]
pub(crate) fn literal_prefix_len(pattern: &[u8]) -> usize {
    memchr::memchr3(b'*', b'?', b'[', pattern).unwrap_or(pattern.len())
}

/// `(literal_prefix_len(pattern), hash(literal prefix))`.
pub(crate) fn literal_prefix_hash(pattern: &[u8]) -> (usize, u64) {
    let plen = literal_prefix_len(pattern);
    (plen, hash(pattern.get(..plen).unwrap_or(pattern)))
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn prefix_ends_at_the_first_wildcard() {
        for s in strings() {
            let plen = s
                .bytes()
                .position(|c| matches!(c, b'*' | b'?' | b'['))
                .unwrap_or(s.len());
            let prefix = &s.as_bytes()[..plen];
            assert_eq!(
                literal_prefix_hash(s.as_bytes()),
                (plen, hash(prefix)),
                "{s:?}"
            );
        }
    }
}
