//! Property tests: the matcher against the C library's fnmatch(3), and the parsers against
//! arbitrary input (no panic, errors instead).

use std::ffi::CString;

use proptest::prelude::*;

use hcl_kernels::fnmatch::{fnmatch, fnmatch_partial};
use hcl_kernels::{Catalog, Profile, ProfileData, import};

/// glibc's fnmatch with no flags, in the C locale (the test never calls setlocale).
#[allow(unsafe_code)]
fn libc_fnmatch(pattern: &str, text: &str) -> bool {
    let (Ok(p), Ok(t)) = (CString::new(pattern), CString::new(text)) else {
        return false;
    };
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call.
    unsafe { libc::fnmatch(p.as_ptr(), t.as_ptr(), 0) == 0 }
}

const ALPHABET: &str = "ab09AF:_-*?";

/// Pattern elements of alias files: literals, `?`, `*` and well-formed brackets (negation,
/// ranges, a leading `]`), plus escapes.
fn element() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[ab09AF:_\\-]".prop_map(|s| s),
        1 => Just("?".to_owned()),
        2 => Just("*".to_owned()),
        2 => ("[!^]?", "[ab09AF\\-]{0,1}", "[ab09AF:_\\-]{1,3}", "(-[b9F])?")
            .prop_map(|(neg, first, body, range)| format!("[{neg}{first}{body}{range}]")),
        1 => Just("[]a]".to_owned()),
        1 => "\\\\[ab*?]".prop_map(|s| s),
    ]
}

fn pattern() -> impl Strategy<Value = String> {
    prop::collection::vec(element(), 0..8).prop_map(|v| v.concat())
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET.as_bytes().to_vec()), 0..10)
        .prop_map(|v| String::from_utf8(v).unwrap_or_default())
}

/// A text that probably matches: each element instantiated.
fn matching_text(pattern: &str, picks: &[u8]) -> String {
    let mut out = String::new();
    let b = pattern.as_bytes();
    let mut i = 0;
    let mut k = 0;
    let mut pick = || {
        k += 1;
        picks.get(k % picks.len().max(1)).copied().unwrap_or(b'a')
    };
    while i < b.len() {
        match b[i] {
            b'*' => {
                for _ in 0..(pick() % 3) {
                    out.push(pick() as char);
                }
                i += 1;
            }
            b'?' => {
                out.push(pick() as char);
                i += 1;
            }
            b'\\' if i + 1 < b.len() => {
                out.push(b[i + 1] as char);
                i += 2;
            }
            b'[' => {
                let end = b[i + 2.min(b.len() - i)..]
                    .iter()
                    .position(|&c| c == b']')
                    .map_or(b.len(), |e| e + i + 2);
                out.push(pick() as char);
                i = end + 1;
            }
            c => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn fnmatch_equals_libc(p in pattern(), t in text()) {
        prop_assert_eq!(fnmatch(p.as_bytes(), t.as_bytes()), libc_fnmatch(&p, &t), "pattern {:?} text {:?}", p, t);
    }

    #[test]
    fn fnmatch_equals_libc_on_near_matches(p in pattern(), picks in prop::collection::vec(prop::sample::select(ALPHABET.as_bytes().to_vec()), 1..8)) {
        let t = matching_text(&p, &picks);
        prop_assert_eq!(fnmatch(p.as_bytes(), t.as_bytes()), libc_fnmatch(&p, &t), "pattern {:?} text {:?}", p, t);
    }

    /// A partial match exists exactly when some hex filling of the `?` matches (checked by
    /// brute force over small texts).
    #[test]
    fn partial_equals_brute_force(p in pattern(), t in "[0A:_?]{0,4}") {
        let unknown: Vec<usize> = t.bytes().enumerate().filter(|(_, c)| *c == b'?').map(|(i, _)| i).collect();
        prop_assume!(unknown.len() <= 2);
        let hex = b"0123456789ABCDEF";
        let mut any = false;
        for combo in 0..16usize.pow(unknown.len() as u32) {
            let mut bytes = t.clone().into_bytes();
            let mut c = combo;
            for &i in &unknown {
                bytes[i] = hex[c % 16];
                c /= 16;
            }
            any |= fnmatch(p.as_bytes(), &bytes);
        }
        prop_assert_eq!(fnmatch_partial(p.as_bytes(), t.as_bytes()), any, "pattern {:?} text {:?}", p, t);
    }

    #[test]
    fn profile_text_parser_never_panics(s in "(hcl-kernels-profile 1\n\\{\\}\n)?([MAPFRX]\t[a-z0-9\t*:?]{0,20}\n){0,6}") {
        let _ = ProfileData::from_text(&s, "fuzz");
    }

    #[test]
    fn profile_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Profile::decode(&bytes, "fuzz");
    }

    #[test]
    fn alias_line_parser_never_panics(s in "((alias )?[a-z:*?\\[\\] -]{0,12}( [a-z_]{0,5})?\n){0,5}") {
        let _ = import::parse_alias_lines(&s, "fuzz");
    }

    #[test]
    fn dep11_and_def_variants_parsers_never_panic(s in "([- ]{0,4}(Package|file|firmware|rules|default)?:? ?[a-z/.()|*\\\\]{0,10}\n){0,8}") {
        let _ = import::parse_dep11(&s);
        if let Ok(rules) = import::parse_def_variants(&s) {
            let _ = import::def_variants_package(&rules, "drivers/net/x.ko");
        }
    }

    #[test]
    fn lookups_never_panic(s in "(pci|usb|acpi)?:?[a-zA-Z0-9:*?\\[\\]\\-_]{0,40}") {
        let c = catalog();
        for p in c.profiles().iter().take(2) {
            let _ = p.resolve(&s);
            let _ = p.coverage(&s, true);
        }
    }
}

/// Random damage to a real profile file: an error or a profile, never a panic.
#[test]
fn damaged_real_profile_never_panics() {
    let good = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/qubes-6.12.profile.zst"),
    )
    .expect("committed profile");
    let mut rng = crate::common::Rng::new(7);
    for _ in 0..200 {
        let mut bytes = good.clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(bytes.len());
            bytes[i] ^= 1 << rng.below(8);
        }
        bytes.truncate(rng.below(bytes.len() + 1).max(bytes.len() / 2));
        let _ = Profile::decode(&bytes, "damaged");
    }
}

fn catalog() -> &'static Catalog {
    crate::common::embedded()
}
