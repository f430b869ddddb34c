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
        // `+` is a space, bad escapes stay as they are, bad UTF-8 is replaced.
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let v = v.trim().to_owned();
            match k.as_ref() {
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
        let baseline = |q: &str| Params::parse(Some(q)).baseline.unwrap_or_default();
        assert_eq!(baseline("baseline=%zz%4"), "%zz%4");
        assert_eq!(baseline("baseline=%ff"), "\u{fffd}");
        assert_eq!(baseline("baseline=a+b%20c"), "a b c");
        assert_eq!(baseline("%62aseline=x"), "x");
    }
}
