//! `modalias`: a modalias (as sysfs, a report or a Qubes HCL line hands it over) through the
//! rules that read it and the kmod-exact engine of every shipped kernel profile.
//!
//! Input: `[PATTERN "\n"] MODALIAS`. With a pattern, the hand-written fnmatch is compared with
//! glibc's `fnmatch(3)` (kmod calls `fnmatch(pattern, modalias, 0)`), the oracle of
//! kmod-exactness, and its partial variant with a brute force over the unknown digits.

use std::ffi::CString;
use std::sync::OnceLock;

use hcl_kernels::fnmatch::{fnmatch, fnmatch_partial};
use hcl_kernels::{AliasFilter, Catalog, Profile, ProfileData};

/// The shipped profiles, decoded once per process.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::embedded().expect("embedded profiles decode"))
}

/// The text form of each shipped profile, for decoding with an [`AliasFilter`].
fn profile_texts() -> &'static [String] {
    static TEXTS: OnceLock<Vec<String>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        catalog()
            .profiles()
            .iter()
            .map(|p| p.data().to_text())
            .collect()
    })
}

pub fn modalias(data: &[u8]) {
    let (pattern, text) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (Some(&data[..i]), &data[i + 1..]),
        None => (None, data),
    };
    if let Some(pattern) = pattern {
        fnmatch_is_glibc(pattern, text);
    }
    // sysfs hands over bytes; the probe keeps what is text.
    let m = String::from_utf8_lossy(text);
    the_one_bus_rule(&m);
    engine(&m, data.len());
}

/// The report check and the probe read a modalias's bus by one rule: what validates has it.
fn the_one_bus_rule(m: &str) {
    if let Ok(parsed) = hcl_data::Modalias::parse(m) {
        let bus = parsed.bus();
        assert!(m.starts_with(bus) && m.as_bytes().get(bus.len()) == Some(&b':'));
        assert!(!bus.is_empty());
    }
}

/// A profile answers without panicking, consistently: a key without `?` gets the same answer
/// exact and partial; the partial split loses no driver; the profile decoded for this key only
/// (as the probe decodes) answers as the whole one. One profile per input, chosen by its
/// length: all of them at once made about 2 executions a second under the fuzzer's
/// instrumentation.
fn engine(m: &str, salt: usize) {
    let profiles = catalog().profiles();
    if profiles.is_empty() {
        return;
    }
    let i = salt % profiles.len();
    let p = &profiles[i];
    let exact = p.resolve(m);
    let partial = p.resolve_partial(m);
    if !m.contains('?') {
        assert_eq!(exact, partial, "{}: {m:?} exact vs partial", p.meta.id);
    }
    let (specific, generic) = p.resolve_partial_split(m);
    let mut split: Vec<&String> = specific.all().chain(generic.all()).collect();
    let mut whole: Vec<&String> = partial.all().collect();
    split.sort();
    split.dedup();
    whole.sort();
    assert_eq!(split, whole, "{}: {m:?} partial split", p.meta.id);
    let _ = p.coverage(m, false);
    let _ = p.coverage(m, true);
    // Decoding a profile for one key reads its whole text (1 to 4 ms, most of an input's
    // time): one input in eight checks it.
    if !salt.is_multiple_of(8) {
        return;
    }
    let filter = AliasFilter::new([(m, false), (m, true)]);
    let data = ProfileData::from_text_filtered(&profile_texts()[i], "fuzz", Some(&filter))
        .expect("a shipped profile decodes with a filter");
    let filtered = Profile::from_data(data);
    assert_eq!(
        filtered.resolve(m),
        exact,
        "{}: {m:?} filtered vs whole",
        p.meta.id
    );
    assert_eq!(
        filtered.resolve_partial(m),
        partial,
        "{}: {m:?} filtered vs whole, partial",
        p.meta.id
    );
}

/// glibc's `fnmatch(pattern, text, 0) == 0`, in the C locale (Rust never calls setlocale).
#[allow(unsafe_code)]
fn glibc_fnmatch(pattern: &CString, text: &CString) -> bool {
    // SAFETY: both are NUL-terminated strings that live across the call; fnmatch only reads
    // them.
    unsafe { libc::fnmatch(pattern.as_ptr(), text.as_ptr(), 0) == 0 }
}

/// Most `?` in a text that the partial variant is checked for by brute force (16^n cases).
const MAX_UNKNOWN: usize = 2;

fn fnmatch_is_glibc(pattern: &[u8], text: &[u8]) {
    let (Ok(p), Ok(t)) = (CString::new(pattern), CString::new(text)) else {
        return;
    };
    assert_eq!(
        fnmatch(pattern, text),
        glibc_fnmatch(&p, &t),
        "fnmatch({:?}, {:?}) differs from glibc",
        String::from_utf8_lossy(pattern),
        String::from_utf8_lossy(text)
    );
    let unknown: Vec<usize> = (0..text.len()).filter(|&i| text[i] == b'?').collect();
    if unknown.len() > MAX_UNKNOWN {
        return;
    }
    // Some uppercase hex digit for each `?` matches, per glibc.
    let mut any = false;
    let mut candidate = text.to_vec();
    for choice in 0..16usize.pow(unknown.len() as u32) {
        let mut c = choice;
        for &at in &unknown {
            candidate[at] = b"0123456789ABCDEF"[c % 16];
            c /= 16;
        }
        let t = CString::new(candidate.clone()).expect("no NUL");
        if glibc_fnmatch(&p, &t) {
            any = true;
            break;
        }
    }
    assert_eq!(
        fnmatch_partial(pattern, text),
        any,
        "fnmatch_partial({:?}, {:?}) differs from glibc over the unknown digits",
        String::from_utf8_lossy(pattern),
        String::from_utf8_lossy(text)
    );
}
