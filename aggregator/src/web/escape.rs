//! The escaper of every HTML and SVG template (`askama.toml` names it): askama's HTML escaping,
//! and bidirectional controls written out visibly (`\u202e`, as terminals show them, by
//! [`hcl_data::bidi_control`]), since a browser would otherwise show `abc\u{202e}gnp.exe` as
//! `abcexe.png`.

use std::fmt::{self, Write};

use askama::filters::Escaper;

/// HTML escaping plus bidirectional controls made visible.
#[derive(Debug, Clone, Copy)]
pub struct Html;

impl Escaper for Html {
    fn write_escaped_str<W: Write>(&self, mut dest: W, string: &str) -> fmt::Result {
        let mut rest = string;
        while let Some(at) = rest.find(hcl_data::bidi_control) {
            askama::filters::Html.write_escaped_str(&mut dest, &rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            write!(dest, "\\u{:04x}", u32::from(c))?;
            rest = &rest[at + c.len_utf8()..];
        }
        askama::filters::Html.write_escaped_str(dest, rest)
    }

    fn write_escaped_char<W: Write>(&self, mut dest: W, c: char) -> fmt::Result {
        if hcl_data::bidi_control(c) {
            write!(dest, "\\u{:04x}", u32::from(c))
        } else {
            askama::filters::Html.write_escaped_char(dest, c)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut out = String::new();
        Html.write_escaped_str(&mut out, s).unwrap();
        out
    }

    #[test]
    fn bidi_controls_are_shown_and_html_escaped() {
        assert_eq!(esc("abc\u{202e}gnp.exe"), "abc\\u202egnp.exe");
        assert_eq!(
            esc("<b>\u{2066}x\u{2069}&\u{200f}\u{061c}é"),
            "&#60;b&#62;\\u2066x\\u2069&#38;\\u200f\\u061cé"
        );
        assert_eq!(esc("plain"), "plain");
    }
}
