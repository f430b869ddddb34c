//! Text from a machine, a file or a server made safe to print on a terminal: the one rule
//! every binary of the project prints such text through.
//!
//! A device name read from sysfs, a file name, or a URL a server sends back can carry escape
//! sequences (`ESC [31m`, OSC 8 hyperlinks, a title change) or bidirectional overrides that make
//! a terminal show something else than the bytes. Each such character is written as a JSON-style
//! escape (`\u001b`), so what is printed says what was there, and JSON output stays valid JSON.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is a bidirectional control (embeddings, overrides, isolates, marks): it makes a
/// terminal or a browser show text in another order than its bytes (`abc\u{202e}gnp.exe` shows
/// as `abcexe.png`). Terminals and the HCL pages both show these escaped.
pub fn bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// Whether a character must not reach a terminal as it is: control characters (C0, DEL, C1),
/// bidirectional controls, and the line and paragraph separators some terminals break lines at.
fn unsafe_char(c: char, keep_lines: bool) -> bool {
    match c {
        '\n' | '\t' => !keep_lines,
        c if c.is_control() => true,
        '\u{2028}' | '\u{2029}' => true,
        c => bidi_control(c),
    }
}

fn escape(text: &str, keep_lines: bool) -> Cow<'_, str> {
    if !text.chars().any(|c| unsafe_char(c, keep_lines)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c, keep_lines) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` with every character that could drive a terminal escaped (`\u001b`); line breaks and
/// tabs are kept. For multi-line output: a report, a file shown before it is sent.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

/// [`terminal_safe`] for text that must stay on one line (a URL, a file name, a message in a
/// sentence): line breaks and tabs are escaped too, so nothing can forge a line of its own.
pub fn terminal_line(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_reach_no_terminal() {
        assert_eq!(
            terminal_line("https://x/r/1\u{1b}[31mred\u{1b}]8;;http://evil\u{7}link"),
            "https://x/r/1\\u001b[31mred\\u001b]8;;http://evil\\u0007link"
        );
        assert_eq!(terminal_line("a\u{9b}31mb\u{7f}"), "a\\u009b31mb\\u007f");
        assert_eq!(terminal_line("abc\u{202e}fed"), "abc\\u202efed");
        assert_eq!(terminal_line("one\ntwo\r"), "one\\u000atwo\\u000d");
        assert_eq!(terminal_safe("one\ntwo\tx\r"), "one\ntwo\tx\\u000d");
        assert!(matches!(
            terminal_safe("Intel Corporation Ünïcödé"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn escaped_json_is_the_same_json() {
        let v = serde_json::json!({"name": "x\u{202e}y\u{7f}\u{9b}"});
        let text = serde_json::to_string(&v).unwrap_or_default();
        let safe = terminal_safe(&text);
        assert!(!safe.contains('\u{202e}'));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap_or_default();
        assert_eq!(back, v);
    }
}
