//! Query strings of the HCL pages, parsed leniently: a page never fails on a stray parameter,
//! a repeated one (HTML checkboxes) or bad percent-encoding.

use crate::analysis::Filter;

/// What a page reads from its query string.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// `html`, `json` or `csv` when given with `?format=`.
    pub format: Option<String>,
    pub filter: Filter,
    /// `candidates=a,b` or repeated `candidates=a&candidates=b`, in order.
    pub candidates: Vec<String>,
    pub baseline: Option<String>,
    /// 1-based page of a long list; anything unparsable is page 1.
    pub page: usize,
}

impl Params {
    pub fn parse(query: Option<&str>) -> Params {
        let mut p = Params {
            page: 1,
            ..Params::default()
        };
        for pair in query.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (k, v) = (decode(k), decode(v));
            let v = v.trim().to_owned();
            match k.as_str() {
                "format" => p.format = Some(v.to_ascii_lowercase()),
                "type" => p.filter.machine_type = Some(v),
                "qubes" => p.filter.qubes = Some(v),
                "from" => p.filter.from = Some(v),
                "to" => p.filter.to = Some(v),
                "baseline" => p.baseline = Some(v),
                "page" => p.page = v.parse().unwrap_or(1),
                "candidates" => {
                    for c in v.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                        if !p.candidates.iter().any(|x| x == c) {
                            p.candidates.push(c.to_owned());
                        }
                    }
                }
                _ => {}
            }
        }
        p
    }
}

/// Percent-decoding with `+` as space; invalid escapes stay as they are, invalid UTF-8 is
/// replaced.
pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(v) = hex {
                    out.push(v);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_comma_candidates_merge_in_order() {
        let p = Params::parse(Some(
            "candidates=debian-12%2Cdebian-13&candidates=rhel-9.6&candidates=debian-12&type=laptop&x=1",
        ));
        assert_eq!(p.candidates, ["debian-12", "debian-13", "rhel-9.6"]);
        assert_eq!(p.filter.machine_type.as_deref(), Some("laptop"));
    }

    #[test]
    fn bad_escapes_do_not_fail() {
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%ff"), "\u{fffd}");
        assert_eq!(decode("a+b%20c"), "a b c");
    }
}
