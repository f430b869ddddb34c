//! `profile`: kernel profile decoding (the `.profile.zst` files that `Catalog::load_dir` reads
//! and `hcl-kernels import` writes).
//!
//! Input: one mode byte, then the file. Mode bit 0 clear: the bytes are the file as stored
//! (zstd); set: they are the text inside it, compressed here so the fuzzer works on the text
//! format through the same entry point. A profile that decodes must encode and decode to the
//! same data, and a profile decoded for a few modaliases must answer as the whole one.

use hcl_kernels::{AliasFilter, Profile, ProfileData};

/// Aliases of a decoded profile turned into lookup keys, at most.
const KEYS: usize = 16;

pub fn profile(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let file = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        zstd::bulk::compress(rest, 1).expect("zstd to memory")
    };
    let Ok(profile) = Profile::decode(&file, "fuzz.profile.zst") else {
        return;
    };
    round_trip(&profile);
    filtered_answers_as_whole(&profile);
}

/// encode → decode is the identity on what a decoded profile holds.
pub(crate) fn round_trip(profile: &Profile) {
    let bytes = profile
        .encode()
        .unwrap_or_else(|e| panic!("a decoded profile does not encode: {e}"));
    let again = Profile::decode(&bytes, "again")
        .unwrap_or_else(|e| panic!("an encoded profile does not decode: {e}"));
    assert_eq!(
        again.data(),
        profile.data(),
        "encode/decode changed the profile"
    );
    assert_eq!(again.meta, profile.meta);
}

/// Keys that hit the profile's own aliases: each pattern with its wildcards filled in (`*`
/// empty, `?` and brackets by a character they accept), and the same key with its last
/// character unknown (`?`).
fn keys_of(profile: &Profile) -> Vec<(String, bool)> {
    let mut keys = Vec::new();
    for a in profile.data().aliases.iter().take(KEYS) {
        let mut key = Vec::new();
        let mut bytes = a.pattern.bytes().peekable();
        while let Some(c) = bytes.next() {
            match c {
                b'*' => {}
                b'?' => key.push(b'0'),
                b'\\' => key.extend(bytes.next()),
                b'[' => {
                    // The first byte the bracket names (or `_` for a negated one).
                    let first = bytes.next();
                    key.push(match first {
                        Some(b'!' | b'^') | None => b'_',
                        Some(b) => b,
                    });
                    for b in bytes.by_ref() {
                        if b == b']' {
                            break;
                        }
                    }
                }
                c => key.push(c),
            }
        }
        let key = String::from_utf8_lossy(&key).into_owned();
        if !key.is_empty() {
            let mut partial = key.clone();
            partial.pop();
            partial.push('?');
            keys.push((partial, true));
        }
        keys.push((key, false));
    }
    keys
}

fn filtered_answers_as_whole(profile: &Profile) {
    let keys = keys_of(profile);
    let filter = AliasFilter::new(keys.iter().map(|(k, p)| (k.as_str(), *p)));
    let text = profile.data().to_text();
    let data = ProfileData::from_text_filtered(&text, "fuzz", Some(&filter))
        .unwrap_or_else(|e| panic!("a decoded profile's text does not decode filtered: {e}"));
    let filtered = Profile::from_data(data);
    for (key, partial) in &keys {
        let (a, b) = if *partial {
            (filtered.resolve_partial(key), profile.resolve_partial(key))
        } else {
            (filtered.resolve(key), profile.resolve(key))
        };
        assert_eq!(a, b, "{key:?} (partial: {partial}): filtered vs whole");
        let _ = profile.coverage(key, *partial);
    }
}
