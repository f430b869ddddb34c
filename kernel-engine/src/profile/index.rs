//! The alias index: aliases sorted by literal prefix, walked like a trie with binary searches,
//! and kmod's test of one alias against a lookup key.

use super::model::{Alias, AliasKind};
use crate::fnmatch::{fnmatch, fnmatch_partial, literal_prefix_len};

/// The alias index: aliases sorted by literal prefix, walked like a trie with binary searches.
#[derive(Debug, Clone, Default)]
pub(crate) struct AliasIndex {
    /// Literal prefix length of each alias (same order as `ProfileData::aliases`).
    prefix_len: Vec<u32>,
}

/// One alias that matched a lookup key. Sorted, hits come in kmod's answer order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Hit {
    pub(crate) kind: AliasKind,
    /// Position of the alias in its source file: kmod answers in that order.
    pub(crate) priority: u32,
    /// Index into [`super::model::ProfileData::modules`].
    pub(crate) module: u32,
    /// Length of the pattern's literal prefix (before the first wildcard).
    pub(crate) literal_len: u32,
}

impl AliasIndex {
    /// Build over aliases already in canonical order.
    pub(crate) fn new(aliases: &[Alias]) -> Self {
        AliasIndex {
            prefix_len: aliases
                .iter()
                .map(|a| literal_prefix_len(&a.pattern) as u32)
                .collect(),
        }
    }

    /// True when the aliases are in literal-prefix order, all the lookup needs.
    pub(crate) fn is_sorted(&self, aliases: &[Alias]) -> bool {
        self.prefix_len.len() == aliases.len()
            && (1..aliases.len())
                .all(|i| self.prefix_of(aliases, i - 1) <= self.prefix_of(aliases, i))
    }

    /// Alias `i`'s literal prefix, from the stored length (no scan of the pattern).
    fn prefix_of<'a>(&self, aliases: &'a [Alias], i: usize) -> Option<&'a [u8]> {
        let a = aliases.get(i)?.pattern.as_bytes();
        a.get(..*self.prefix_len.get(i)? as usize)
    }

    /// Every alias matching `text` (kmod-normalised). With `partial`, `?` in the text is an
    /// unknown hex digit.
    pub(crate) fn lookup(&self, aliases: &[Alias], text: &[u8], partial: bool) -> Vec<Hit> {
        let mut hits = Vec::new();
        self.walk(aliases, text, partial, 0, 0, aliases.len(), &mut hits);
        hits
    }

    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        aliases: &[Alias],
        text: &[u8],
        partial: bool,
        mut depth: usize,
        mut lo: usize,
        mut hi: usize,
        hits: &mut Vec<Hit>,
    ) {
        loop {
            if hi <= lo {
                return;
            }
            // A few candidates left: check each directly.
            if hi - lo <= 16 {
                for i in lo..hi {
                    self.check(aliases, i, text, partial, depth, hits);
                }
                return;
            }
            // Aliases whose literal prefix ends here sort first in the range.
            let ends = lo
                + self
                    .prefix_len
                    .get(lo..hi)
                    .map_or(0, |r| r.partition_point(|&l| l as usize == depth));
            for i in lo..ends {
                self.check(aliases, i, text, partial, depth, hits);
            }
            lo = ends;
            if lo >= hi {
                return;
            }
            // Every prefix in a sorted range shares the first and last one's common prefix:
            // compare it at once instead of narrowing byte by byte.
            let (Some(f), Some(l)) = (self.prefix_of(aliases, lo), self.prefix_of(aliases, hi - 1))
            else {
                return;
            };
            let lcp = f.iter().zip(l).take_while(|(x, y)| x == y).count();
            if lcp > depth {
                let (Some(want), Some(have)) = (f.get(depth..lcp), text.get(depth..lcp)) else {
                    return;
                };
                if !literal_eq(want, have, partial) {
                    return;
                }
                depth = lcp;
                continue;
            }
            let Some(&c) = text.get(depth) else { return };
            if partial && c == b'?' {
                for h in b"0123456789ABCDEF" {
                    let (l, r) = narrow(aliases, lo, hi, depth, *h);
                    if l < r {
                        self.walk(aliases, text, partial, depth + 1, l, r, hits);
                    }
                }
                return;
            }
            (lo, hi) = narrow(aliases, lo, hi, depth, c);
            depth += 1;
        }
    }

    /// Check alias `i`, whose literal prefix is known to equal the text up to `depth`.
    fn check(
        &self,
        aliases: &[Alias],
        i: usize,
        text: &[u8],
        partial: bool,
        depth: usize,
        hits: &mut Vec<Hit>,
    ) {
        let (Some(a), Some(&plen)) = (aliases.get(i), self.prefix_len.get(i)) else {
            return;
        };
        if alias_matches(a.pattern.as_bytes(), plen as usize, text, partial, depth) {
            hits.push(Hit {
                kind: a.kind,
                priority: a.priority,
                module: a.module,
                literal_len: plen,
            });
        }
    }
}

/// kmod's test of one alias `pat` (literal prefix length `plen`) against a lookup key, the
/// first `depth` bytes of the literal prefix being known to agree. The alias filter uses it
/// too, so a filtered profile keeps exactly the aliases its keys can hit.
pub(crate) fn alias_matches(
    pat: &[u8],
    plen: usize,
    text: &[u8],
    partial: bool,
    depth: usize,
) -> bool {
    let (Some(want), Some(have)) = (pat.get(depth..plen), text.get(depth..plen)) else {
        return false;
    };
    if !literal_eq(want, have, partial) {
        return false;
    }
    match (pat.get(plen..), text.get(plen..)) {
        (Some([]), _) => plen == text.len(),
        (Some(p), Some(t)) if partial => fnmatch_partial(p, t),
        (Some(p), Some(t)) => fnmatch(p, t),
        _ => false,
    }
}

/// Literal comparison; with `partial`, a `?` in the text stands for any uppercase hex digit.
fn literal_eq(want: &[u8], have: &[u8], partial: bool) -> bool {
    want.len() == have.len()
        && want.iter().zip(have).all(|(w, h)| {
            w == h || (partial && *h == b'?' && matches!(w, b'0'..=b'9' | b'A'..=b'F'))
        })
}

/// The sub-range of [lo, hi) whose prefix byte at `depth` is `c` (all have longer prefixes).
fn narrow(aliases: &[Alias], lo: usize, hi: usize, depth: usize, c: u8) -> (usize, usize) {
    let Some(range) = aliases.get(lo..hi) else {
        return (lo, lo);
    };
    let byte = |a: &Alias| a.pattern.as_bytes().get(depth).copied().unwrap_or(0);
    let l = range.partition_point(|a| byte(a) < c);
    let r = range.partition_point(|a| byte(a) <= c);
    (lo + l, lo + r)
}
