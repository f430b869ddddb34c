//! fnmatch(3) without flags, byte by byte as glibc does it in the C locale, plus the
//! "partial" variant where `?` in the text stands for an unknown hex digit.
//!
//! kmod matches alias patterns with `fnmatch(pattern, modalias, 0)`, so `*` and `?` also match
//! `/` and a leading `.`, and `\` escapes the next pattern character.
//!
//! Hand-written on purpose: kmod-exact matching needs glibc's byte-for-byte behaviour (bracket
//! expressions and classes, escapes, the C locale, what glibc refuses), which no crate gives
//! (glob crates follow shell or path rules), and the partial variant has no counterpart
//! anywhere. The differential test against libkmod checks it on real aliases.

/// What one position of the text may be.
#[derive(Clone, Copy)]
enum TextChar {
    Known(u8),
    /// Unknown: some uppercase hex digit (modalias fields are fixed-width uppercase hex).
    UnknownHex,
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// One element of a pattern that consumes exactly one text character.
enum Element<'a> {
    Literal(u8),
    Any,
    /// The bytes between `[` and the closing `]` (negation marker already removed).
    Bracket {
        body: &'a [u8],
        negated: bool,
    },
    /// A construct glibc fails on (trailing backslash, invalid class name): matches nothing.
    Never,
}

/// `fnmatch(pattern, text, 0) == 0` for byte strings.
pub fn fnmatch(pattern: &[u8], text: &[u8]) -> bool {
    matches_with(pattern, text.len(), |i| TextChar::Known(text[i]))
}

/// True when some choice of uppercase hex digits for the `?` characters of `text` makes
/// `fnmatch(pattern, text, 0)` true.
pub fn fnmatch_partial(pattern: &[u8], text: &[u8]) -> bool {
    matches_with(pattern, text.len(), |i| match text[i] {
        b'?' => TextChar::UnknownHex,
        c => TextChar::Known(c),
    })
}

/// Classic glob matching with one backtrack point per `*`: every other element consumes exactly
/// one character, so resuming from the last star is complete.
fn matches_with(pattern: &[u8], len: usize, at: impl Fn(usize) -> TextChar) -> bool {
    let mut p = 0usize;
    let mut t = 0usize;
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(&pc) = pattern.get(p) {
            if pc == b'*' {
                p += 1;
                if p == pattern.len() {
                    // A trailing star matches whatever is left.
                    return true;
                }
                star = Some((p, t));
                continue;
            }
            if t < len {
                let (ok, next) = match pc {
                    b'?' => (true, p + 1),
                    b'[' | b'\\' => {
                        let (element, next) = parse_element(pattern, p);
                        (element_matches(&element, at(t)), next)
                    }
                    _ => (literal_matches(pc, at(t)), p + 1),
                };
                if ok {
                    p = next;
                    t += 1;
                    continue;
                }
            }
        } else if t == len {
            return true;
        }
        let Some((sp, st)) = star else { return false };
        let mut nt = st + 1;
        // After `*` a plain literal must come next: skip text that cannot start the match.
        if let Some(&c) = pattern.get(sp)
            && !matches!(c, b'*' | b'?' | b'[' | b'\\')
        {
            while nt < len && !literal_matches(c, at(nt)) {
                nt += 1;
            }
        }
        if nt > len {
            return false;
        }
        star = Some((sp, nt));
        p = sp;
        t = nt;
    }
}

#[inline]
fn literal_matches(l: u8, c: TextChar) -> bool {
    match c {
        TextChar::Known(k) => l == k,
        TextChar::UnknownHex => HEX_UPPER.contains(&l),
    }
}

/// Parse the element at `p` (not a `*`); returns it and the index after it.
fn parse_element(pattern: &[u8], p: usize) -> (Element<'_>, usize) {
    match pattern[p] {
        b'?' => (Element::Any, p + 1),
        b'\\' => match pattern.get(p + 1) {
            Some(&c) => (Element::Literal(c), p + 2),
            None => (Element::Never, p + 1),
        },
        b'[' => match bracket_end(pattern, p + 1) {
            Some((start, end)) => {
                let negated = matches!(pattern.get(p + 1), Some(b'!' | b'^'));
                (
                    Element::Bracket {
                        body: &pattern[start..end],
                        negated,
                    },
                    end + 1,
                )
            }
            // Unterminated: glibc matches the `[` as an ordinary character.
            None => (Element::Literal(b'['), p + 1),
        },
        c => (Element::Literal(c), p + 1),
    }
}

/// Given the index after `[`, the body range and the index of the closing `]`.
fn bracket_end(pattern: &[u8], mut i: usize) -> Option<(usize, usize)> {
    if matches!(pattern.get(i), Some(b'!' | b'^')) {
        i += 1;
    }
    let start = i;
    // A `]` first in the body is a member, not the end.
    if pattern.get(i) == Some(&b']') {
        i += 1;
    }
    while i < pattern.len() {
        match pattern[i] {
            b']' => return Some((start, i)),
            b'\\' => i += 2,
            b'[' if pattern.get(i + 1) == Some(&b':') => {
                // `[:class:]` inside a bracket; its `]` does not close the bracket.
                let rest = &pattern[i + 2..];
                match rest.windows(2).position(|w| w == b":]") {
                    Some(k) if rest[..k].iter().all(|c| c.is_ascii_lowercase()) => i += k + 4,
                    _ => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    None
}

fn element_matches(element: &Element<'_>, c: TextChar) -> bool {
    match (element, c) {
        (Element::Never, _) => false,
        (Element::Any, _) => true,
        (Element::Literal(l), TextChar::Known(k)) => *l == k,
        (Element::Literal(l), TextChar::UnknownHex) => HEX_UPPER.contains(l),
        (Element::Bracket { body, negated }, TextChar::Known(k)) => {
            bracket_contains(body, k).is_some_and(|m| m != *negated)
        }
        (Element::Bracket { body, negated }, TextChar::UnknownHex) => HEX_UPPER
            .iter()
            .any(|&h| bracket_contains(body, h).is_some_and(|m| m != *negated)),
    }
}

/// Whether `c` is a member of the bracket body; None when the body is ill-formed in a way glibc
/// rejects (an unknown character class name).
fn bracket_contains(body: &[u8], c: u8) -> Option<bool> {
    let mut i = 0usize;
    let mut found = false;
    while i < body.len() {
        let lo = match body[i] {
            b'\\' if i + 1 < body.len() => {
                i += 2;
                body[i - 1]
            }
            b'[' if body.get(i + 1) == Some(&b':') => {
                let rest = &body[i + 2..];
                match rest.windows(2).position(|w| w == b":]") {
                    Some(k) if rest[..k].iter().all(|c| c.is_ascii_lowercase()) => {
                        found |= class_contains(&rest[..k], c)?;
                        i += k + 4;
                        continue;
                    }
                    _ => {
                        i += 1;
                        b'['
                    }
                }
            }
            other => {
                i += 1;
                other
            }
        };
        // A range `lo-hi`, unless the `-` is last.
        if body.get(i) == Some(&b'-') && i + 1 < body.len() {
            let (hi, next) = match body[i + 1] {
                b'\\' if i + 2 < body.len() => (body[i + 2], i + 3),
                h => (h, i + 2),
            };
            found |= lo <= c && c <= hi;
            i = next;
        } else {
            found |= lo == c;
        }
    }
    Some(found)
}

fn class_contains(name: &[u8], c: u8) -> Option<bool> {
    Some(match name {
        b"alnum" => c.is_ascii_alphanumeric(),
        b"alpha" => c.is_ascii_alphabetic(),
        b"blank" => c == b' ' || c == b'\t',
        b"cntrl" => c.is_ascii_control(),
        b"digit" => c.is_ascii_digit(),
        b"graph" => c.is_ascii_graphic(),
        b"lower" => c.is_ascii_lowercase(),
        b"print" => c.is_ascii_graphic() || c == b' ',
        b"punct" => c.is_ascii_punctuation(),
        b"space" => c.is_ascii_whitespace() || c == 0x0b,
        b"upper" => c.is_ascii_uppercase(),
        b"xdigit" => c.is_ascii_hexdigit(),
        _ => return None,
    })
}

/// kmod's `alias_normalize`: `-` becomes `_` outside `[...]`; a `]` outside brackets or an
/// unterminated `[` makes the alias invalid (depmod skips such patterns, lookups fail).
pub fn normalize(alias: &str) -> Option<String> {
    let bytes = alias.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'-' => out.push(b'_'),
            b']' => return None,
            b'[' => {
                while i < bytes.len() && bytes[i] != b']' {
                    out.push(bytes[i]);
                    i += 1;
                }
                if i == bytes.len() {
                    return None;
                }
                out.push(b']');
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Index of the first character kmod treats as a wildcard (`*`, `?`, `[`): the pattern before
/// it is compared literally (backslash included), the rest with fnmatch.
pub fn literal_prefix_len(pattern: &str) -> usize {
    crate::bytes::literal_prefix_len(pattern.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert!(fnmatch(b"pci:v*d*", b"pci:v1d2"));
        assert!(!fnmatch(b"pci:v*d", b"pci:v1d2"));
        assert!(fnmatch(b"a[0-2]?", b"a1x"));
        assert!(!fnmatch(b"a[!0-2]?", b"a1x"));
        assert!(fnmatch(b"a[]]", b"a]"));
        assert!(fnmatch(b"a[", b"a["));
        assert!(fnmatch(b"\\*", b"*"));
        assert!(!fnmatch(b"ab\\", b"ab"));
    }

    #[test]
    fn partial_unknown_is_hex() {
        assert!(fnmatch_partial(b"usb:v8087p0029d*", b"usb:v8087p0029d????"));
        assert!(fnmatch_partial(b"x[0-2]y", b"x?y"));
        assert!(!fnmatch_partial(b"x[G-Z]y", b"x?y"));
        assert!(!fnmatch_partial(b"xsy", b"x?y"));
    }

    #[test]
    fn normalize_like_kmod() {
        assert_eq!(normalize("a-b[x-y]-").as_deref(), Some("a_b[x-y]_"));
        assert_eq!(normalize("a]"), None);
        assert_eq!(normalize("a[b"), None);
    }
}
