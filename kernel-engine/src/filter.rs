//! [`AliasFilter`]: decode only the aliases that could match the modaliases a caller will look
//! up. A probe resolves a few dozen modaliases against profiles of some 30,000 aliases each.

use crate::bytes::{hash, literal_prefix_hash};
use crate::fnmatch::normalize;
use crate::profile::index::alias_matches;

/// The modaliases a caller will look up, so that decoding can keep only the aliases that could
/// match one of them ([`crate::ProfileData::from_text_filtered`]).
///
/// An alias is kept when it matches some key as a lookup would match it (`?` in a partial key
/// standing for any uppercase hex digit), so a filtered profile gives the same answers as the
/// full one for every key. Most aliases are rejected by their literal prefix (the text before
/// the first wildcard) alone: no key starts with it.
#[derive(Debug, Clone, Default)]
pub struct AliasFilter {
    /// Normalised concrete keys, sorted and deduplicated.
    exact: Vec<String>,
    /// Normalised partial keys (rare: from hardware lists with unknown ids), checked one by one.
    partial: Vec<String>,
    /// Every prefix of every exact key, to reject most patterns by one hash lookup.
    prefixes: PrefixSet,
}

impl AliasFilter {
    /// A filter for these (modalias, partial) lookup keys. Keys are normalised as lookups
    /// normalise them; a key kmod rejects is dropped, since it matches nothing anyway.
    pub fn new<'a>(keys: impl IntoIterator<Item = (&'a str, bool)>) -> Self {
        let mut exact = Vec::new();
        let mut partial = Vec::new();
        for (key, is_partial) in keys {
            let Some(key) = normalize(key) else { continue };
            if is_partial {
                partial.push(key);
            } else {
                exact.push(key);
            }
        }
        for keys in [&mut exact, &mut partial] {
            keys.sort_unstable();
            keys.dedup();
        }
        let prefixes = PrefixSet::new(
            exact
                .iter()
                .flat_map(|k| (0..=k.len()).map(|l| hash(&k.as_bytes()[..l]))),
        );
        AliasFilter {
            exact,
            partial,
            prefixes,
        }
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.exact.len() + self.partial.len()
    }

    /// True when there is no key (nothing is kept).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the alias `pattern` (kmod-normalised) matches one of the keys, by the very test
    /// lookups make.
    pub fn keeps(&self, pattern: &str) -> bool {
        let bytes = pattern.as_bytes();
        let (plen, h) = literal_prefix_hash(bytes);
        // Most patterns fail here: no key starts with their literal prefix.
        if self.prefixes.contains(h) {
            let prefix = bytes.get(..plen).unwrap_or(bytes);
            // Keys starting with the prefix are adjacent in the sorted list.
            let start = self.exact.partition_point(|k| k.as_bytes() < prefix);
            if self
                .exact
                .get(start..)
                .unwrap_or_default()
                .iter()
                .take_while(|k| k.as_bytes().starts_with(prefix))
                .any(|k| alias_matches(bytes, plen, k.as_bytes(), false, plen))
            {
                return true;
            }
        }
        self.partial
            .iter()
            .any(|k| alias_matches(bytes, plen, k.as_bytes(), true, 0))
    }
}

/// A set of hashes, open addressing with linear probing; 0 marks an empty slot. A hash
/// collision can only make the filter keep an alias it did not need.
#[derive(Debug, Clone, Default)]
struct PrefixSet {
    slots: Vec<u64>,
    /// 64 minus log2 of the slot count: slots are indexed by the hash's well-mixed high bits.
    shift: u32,
}

impl PrefixSet {
    fn new(hashes: impl Iterator<Item = u64>) -> Self {
        let hashes: Vec<u64> = hashes.map(|h| h.max(1)).collect();
        // At most half full, so a miss (the common case) ends after a probe or two.
        let size = (hashes.len() * 2).next_power_of_two().max(16);
        let mut set = PrefixSet {
            slots: vec![0; size],
            shift: 64 - size.trailing_zeros(),
        };
        for h in hashes {
            let mut i = set.home(h);
            loop {
                match set.slots.get_mut(i) {
                    Some(slot) if *slot == 0 => {
                        *slot = h;
                        break;
                    }
                    Some(slot) if *slot == h => break,
                    Some(_) => i = (i + 1) & (size - 1),
                    None => break,
                }
            }
        }
        set
    }

    fn home(&self, h: u64) -> usize {
        (h >> self.shift) as usize
    }

    fn contains(&self, h: u64) -> bool {
        let h = h.max(1);
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = self.home(h);
        loop {
            match self.slots.get(i) {
                Some(&slot) if slot == h => return true,
                Some(&slot) if slot != 0 => i = (i + 1) & mask,
                // An empty slot, or no slots at all (no exact key).
                _ => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_patterns_a_key_matches() {
        let f = AliasFilter::new([
            (
                "pci:v00008086d00002723sv00008086sd00000084bc02sc80i00",
                false,
            ),
            ("usb:v8087p0029d0001dcE0dsc01dp01icE0isc01ip01in-0", false),
        ]);
        assert_eq!(f.len(), 2);
        for kept in [
            "pci:v00008086d00002723sv*sd*bc*sc*i*",
            "pci:v*d*sv*sd*bc02sc80i*",
            "pci:v00008086d00002723sv00008086sd00000084bc02sc80i00",
            "*",
            "usb:v8087p0029d*dc*dsc*dp*ic*isc*ip*in*",
            // The key was normalised (`-` to `_`).
            "usb:v8087p0029d0001dcE0dsc01dp01icE0isc01ip01in_0",
        ] {
            assert!(f.keeps(kept), "{kept}");
        }
        for dropped in [
            "pci:v00008086d00002724sv*sd*bc*sc*i*",
            // The literal prefix fits, the rest does not.
            "pci:v00008086d00002723sv*sd*bc03sc*i*",
            "pci:v00008086d00002723sv00008086sd00000084bc02sc80i00X",
            "usb:v8087p0028d*",
            "acpi*:PNP0A08:*",
            "usb:v8087p0029d0001dcE0dsc01dp01icE0isc01ip01in-0",
        ] {
            assert!(!f.keeps(dropped), "{dropped}");
        }
    }

    #[test]
    fn partial_keys_accept_hex_for_unknown_digits() {
        let f = AliasFilter::new([(
            "pci:v00008086d000008B1sv????????sd????????bc??sc??i??",
            true,
        )]);
        assert!(f.keeps("pci:v00008086d000008B1sv00008086sd00004070bc*sc*i*"));
        assert!(f.keeps("pci:v00008086d000008B1sv*sd*bc*sc*i*"));
        assert!(f.keeps("pci:v*d*sv*sd*bc02sc80i*"));
        // An unknown digit is uppercase hex, never a lowercase letter or a longer field.
        assert!(!f.keeps("pci:v00008086d000008B1svx*"));
        assert!(!f.keeps("pci:v00008086d000008B2sv*"));
        assert!(!f.keeps("pci:v00008086d000008B1sv*sd*bc*sc*i???"));
    }

    #[test]
    fn empty_filter_keeps_nothing_and_bad_keys_are_dropped() {
        let f = AliasFilter::new([("a]b", false)]);
        assert!(f.is_empty());
        assert!(!f.keeps("*"));
        assert!(!f.keeps("a"));
    }
}
