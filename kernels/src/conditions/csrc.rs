//! Just enough C reading for the device tables the conditions come from: comments out,
//! `#define`s with their continuation lines, balanced blocks and calls, object-like macro
//! expansion. Hand code: no crate reads kernel C without compiling it, and these files are
//! read whole at build time, never on a lookup path.

use std::collections::BTreeMap;

/// The text with `/* */` and `//` comments replaced by spaces (string and character literals
/// kept), and backslash-newline continuations joined.
pub(crate) fn clean(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let next = b.get(i + 1).copied();
        match (c, next) {
            (b'/', Some(b'*')) => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
                out.push(b' ');
            }
            (b'/', Some(b'/')) => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            (b'"' | b'\'', _) => {
                out.push(c);
                i += 1;
                while let Some(&d) = b.get(i) {
                    out.push(d);
                    i += 1;
                    if d == b'\\' {
                        if let Some(&e) = b.get(i) {
                            out.push(e);
                            i += 1;
                        }
                    } else if d == c || d == b'\n' {
                        break;
                    }
                }
            }
            (b'\\', Some(b'\n')) => {
                out.push(b' ');
                i += 2;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A `#define`: parameters (None for an object-like macro) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Define {
    pub params: Option<Vec<String>>,
    pub body: String,
}

/// Every `#define` of a [`clean`]ed text; a later definition of a name replaces an earlier one.
pub(crate) fn defines(text: &str) -> BTreeMap<String, Define> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix('#') else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix("define") else {
            continue;
        };
        if !rest.starts_with([' ', '\t']) {
            continue;
        }
        let rest = rest.trim_start();
        let name_len = ident_len(rest.as_bytes(), 0);
        if name_len == 0 {
            continue;
        }
        let (name, after) = rest.split_at(name_len);
        let (params, body) = match after.strip_prefix('(') {
            Some(p) => {
                let Some(close) = p.find(')') else { continue };
                let params = p[..close]
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                (Some(params), &p[close + 1..])
            }
            None => (None, after),
        };
        out.insert(
            name.to_owned(),
            Define {
                params,
                body: body.trim().to_owned(),
            },
        );
    }
    out
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Length of the identifier starting at `at` (0 when none starts there).
fn ident_len(b: &[u8], at: usize) -> usize {
    match b.get(at) {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
            b[at..].iter().take_while(|c| is_ident(**c)).count()
        }
        _ => 0,
    }
}

/// Every identifier of `text` with its byte offset.
pub(crate) fn idents(text: &str) -> Vec<(usize, &str)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if i > 0 && is_ident(b[i - 1]) {
            i += 1;
            continue;
        }
        let n = ident_len(b, i);
        if n == 0 {
            i += 1;
            continue;
        }
        out.push((i, &text[i..i + n]));
        i += n;
    }
    out
}

/// The text between the bracket at `open` (`(` or `{`) and its matching close.
pub(crate) fn balanced(text: &str, open: usize) -> Option<&str> {
    let b = text.as_bytes();
    let (o, c) = match b.get(open)? {
        b'(' => (b'(', b')'),
        b'{' => (b'{', b'}'),
        _ => return None,
    };
    let mut depth = 0usize;
    for (i, &x) in b.iter().enumerate().skip(open) {
        if x == o {
            depth += 1;
        } else if x == c {
            depth -= 1;
            if depth == 0 {
                return text.get(open + 1..i);
            }
        }
    }
    None
}

/// Calls `NAME(args)` in `text` whose name `want` accepts: (name, args text).
pub(crate) fn calls(text: &str, want: impl Fn(&str) -> bool) -> Vec<(&str, &str)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    for (at, name) in idents(text) {
        if !want(name) {
            continue;
        }
        let mut j = at + name.len();
        while b.get(j).is_some_and(u8::is_ascii_whitespace) {
            j += 1;
        }
        if b.get(j) == Some(&b'(')
            && let Some(args) = balanced(text, j)
        {
            out.push((name, args));
        }
    }
    out
}

/// Top-level comma-separated arguments of a call's argument text.
pub(crate) fn args(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(text[start..].trim());
    out
}

/// The `{ ... }` initialiser or body that follows the first occurrence of `head` (e.g.
/// `intel_device_info mtl_info =`, `amdgpu_discovery_set_gc_ip_blocks(`).
pub(crate) fn block_after<'a>(text: &'a str, head: &str) -> Option<&'a str> {
    let at = text.find(head)? + head.len();
    let open = at + text.get(at..)?.find('{')?;
    balanced(text, open)
}

/// Object-like macros of `defs` expanded in `text`, recursively (a macro is not expanded inside
/// itself, as the preprocessor does).
pub(crate) fn expand_objects(text: &str, defs: &BTreeMap<String, Define>) -> String {
    fn go(text: &str, defs: &BTreeMap<String, Define>, active: &mut Vec<String>) -> String {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (at, name) in idents(text) {
            let Some(d) = defs.get(name) else { continue };
            if d.params.is_some() || active.iter().any(|a| a == name) {
                continue;
            }
            out.push_str(&text[last..at]);
            active.push(name.to_owned());
            out.push_str(&go(&d.body, defs, active));
            active.pop();
            last = at + name.len();
        }
        out.push_str(&text[last..]);
        out
    }
    go(text, defs, &mut Vec::new())
}

/// The value of the last `.field = value` designated initialiser in an (expanded) initialiser.
pub(crate) fn last_field<'a>(init: &'a str, field: &str) -> Option<&'a str> {
    let key = format!(".{field}");
    let mut found = None;
    let mut from = 0;
    while let Some(i) = init.get(from..).and_then(|s| s.find(&key)) {
        let at = from + i + key.len();
        from = at;
        if init.as_bytes().get(at).is_some_and(|c| is_ident(*c)) {
            continue;
        }
        let rest = init.get(at..)?.trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let end = rest.find([',', '}', ';']).unwrap_or(rest.len());
        found = Some(rest[..end].trim());
    }
    found
}

/// A hex literal (`0x7D55`) as a number.
pub(crate) fn hex(text: &str) -> Option<u32> {
    let t = text.trim();
    let h = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"))?;
    u32::from_str_radix(h, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_comments_and_continuations() {
        let t = clean("a /* x */ b // y\n#define F(x) \\\n\tx + 1\n\"/* kept */\"");
        assert_eq!(t, "a   b \n#define F(x)  \tx + 1\n\"/* kept */\"");
        let d = defines(&t);
        assert_eq!(d["F"].params.as_deref(), Some(&["x".to_owned()][..]));
        assert_eq!(d["F"].body, "x + 1");
    }

    #[test]
    fn expands_object_macros_and_reads_the_last_field() {
        let src = clean(
            "#define A .x = 1, B\n#define B .y = 2, .x = 0\nstatic const struct s v = { A, .z = 3 };",
        );
        let defs = defines(&src);
        let body = block_after(&src, "struct s v =").unwrap();
        let e = expand_objects(body, &defs);
        assert_eq!(last_field(&e, "x"), Some("0"));
        assert_eq!(last_field(&e, "y"), Some("2"));
        assert_eq!(last_field(&e, "w"), None);
        let cs = calls("M(0x7D55, f(1, 2)), N(3)", |n| n == "M");
        assert_eq!(cs, [("M", "0x7D55, f(1, 2)")]);
        assert_eq!(args(cs[0].1), ["0x7D55", "f(1, 2)"]);
        assert_eq!(hex("0x7d55"), Some(0x7d55));
    }
}
