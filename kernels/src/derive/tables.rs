//! Which source files hold device tables (or hand-written aliases) of the wanted buses.
//!
//! A file counts when, outside comments, it has `MODULE_DEVICE_TABLE(<type>, ...)` with a wanted
//! type, `MODULE_ALIAS("<bus>:...")` with a wanted bus, a call of a macro whose definition
//! holds either, or a quoted `#include` of a file that counts (uhci-hcd.c includes uhci-pci.c,
//! dl2k.c includes the table in dl2k.h). Compiling a file that turns out to hold no wanted
//! table costs time only; missing one loses its aliases, so the rules err on the wide side.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// The buses whose aliases are derived: `MODULE_DEVICE_TABLE` types, or every bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Buses {
    All,
    Only(BTreeSet<String>),
}

impl Buses {
    /// `all`, or a comma-separated list of device table types (`pci,usb`).
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.trim() == "all" {
            return Ok(Buses::All);
        }
        let set: BTreeSet<String> = s
            .split(',')
            .map(|b| b.trim().to_owned())
            .filter(|b| !b.is_empty())
            .collect();
        if set.is_empty()
            || set.iter().any(|b| {
                !b.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
            })
        {
            return Err(format!(
                "bad bus list {s:?}: give `all` or device table types such as `pci,usb`"
            ));
        }
        Ok(Buses::Only(set))
    }

    /// True for a wanted `MODULE_DEVICE_TABLE` type.
    pub fn wants_table(&self, table_type: &str) -> bool {
        match self {
            Buses::All => true,
            Buses::Only(set) => set.contains(table_type),
        }
    }

    /// True for an alias of a wanted bus (`pci:v...`, `usb:v...`; `x86cpu` tables make
    /// `cpu:type:x86...` aliases, `dmi`/`acpi` ones `dmi*:`/`acpi*:`).
    pub fn wants_alias(&self, alias: &str) -> bool {
        match self {
            Buses::All => true,
            Buses::Only(set) => {
                let bus = crate::pattern_bus(alias);
                set.contains(bus) || (bus == "cpu" && set.contains("x86cpu"))
            }
        }
    }

    /// The bus names recorded as a profile's covered buses (empty: every bus).
    pub fn covered(&self) -> Vec<String> {
        match self {
            Buses::All => Vec::new(),
            Buses::Only(set) => set.iter().cloned().collect(),
        }
    }
}

impl std::fmt::Display for Buses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Buses::All => f.write_str("all"),
            Buses::Only(set) => f.write_str(&set.iter().cloned().collect::<Vec<_>>().join(",")),
        }
    }
}

/// What one file says, comments removed.
#[derive(Debug, Clone, Default)]
struct Facts {
    /// `MODULE_DEVICE_TABLE` types, `MODULE_ALIAS` buses, called identifiers followed by `(`.
    table_types: BTreeSet<String>,
    alias_buses: BTreeSet<String>,
    any_alias: bool,
    calls: BTreeSet<String>,
    /// Quoted `#include "..."` targets, as written.
    includes: Vec<String>,
    /// Macros defined here whose body holds a table or an alias.
    table_macros: BTreeMap<String, TableMacro>,
}

/// What a macro's body holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TableMacro {
    /// `MODULE_DEVICE_TABLE` of this type (`None`: the type is a macro parameter).
    Table(Option<String>),
    /// `MODULE_ALIAS("<bus>:...")`.
    Alias(String),
    /// Another alias (`fs-`, `net-pf-`, a parameter): counts only for every bus.
    OtherAlias,
}

/// Scans source files of a tree for device tables, caching each file's facts.
#[derive(Debug)]
pub(crate) struct Scanner {
    srctree: PathBuf,
    buses: Buses,
    facts: BTreeMap<PathBuf, Option<Facts>>,
    /// Table macros of the global headers (`include/`), by name.
    global_macros: BTreeMap<String, TableMacro>,
}

impl Scanner {
    pub(crate) fn new(srctree: &Path, buses: Buses) -> Self {
        let mut s = Scanner {
            srctree: srctree.to_owned(),
            buses,
            facts: BTreeMap::new(),
            global_macros: BTreeMap::new(),
        };
        // Table macros in global headers (module_cpu_feature_match, IRQCHIP_PLATFORM_DRIVER_END):
        // a driver calling one has a table without writing MODULE_DEVICE_TABLE.
        let mut headers = Vec::new();
        collect_headers(&srctree.join("include"), &mut headers);
        for h in headers {
            if let Ok(text) = std::fs::read(&h) {
                let f = scan_text(&String::from_utf8_lossy(&text));
                s.global_macros.extend(f.table_macros);
            }
        }
        s
    }

    fn facts(&mut self, rel: &Path) -> Option<&Facts> {
        if !self.facts.contains_key(rel) {
            let f = std::fs::read(self.srctree.join(rel))
                .ok()
                .map(|b| scan_text(&String::from_utf8_lossy(&b)));
            self.facts.insert(rel.to_owned(), f);
        }
        self.facts.get(rel).and_then(Option::as_ref)
    }

    /// True when the file (relative to the tree), or a file it includes with quotes, holds a
    /// wanted table or alias, or calls a table macro defined in one of them or in `include/`.
    pub(crate) fn has_tables(&mut self, rel: &Path) -> bool {
        // The file and everything it includes with quotes, transitively.
        let mut closure: Vec<PathBuf> = Vec::new();
        let mut stack = vec![rel.to_owned()];
        let mut seen = BTreeSet::new();
        while let Some(f) = stack.pop() {
            if !seen.insert(f.clone()) {
                continue;
            }
            let Some(facts) = self.facts(&f) else {
                continue;
            };
            let dir = f.parent().map(Path::to_owned).unwrap_or_default();
            let includes = facts.includes.clone();
            closure.push(f);
            for inc in includes {
                if let Some(target) = normalize(&dir.join(inc))
                    && self.srctree.join(&target).is_file()
                {
                    stack.push(target);
                }
            }
        }
        let buses = &self.buses;
        let mut macros = self.global_macros.clone();
        for f in &closure {
            if let Some(Some(facts)) = self.facts.get(f) {
                macros.extend(facts.table_macros.clone());
            }
        }
        let wanted = |m: &TableMacro| match m {
            TableMacro::Table(t) => t.as_ref().is_none_or(|t| buses.wants_table(t)),
            TableMacro::Alias(bus) => buses.wants_alias(&format!("{bus}:")),
            TableMacro::OtherAlias => *buses == Buses::All,
        };
        closure.iter().any(|f| {
            let Some(Some(facts)) = self.facts.get(f) else {
                return false;
            };
            facts.table_types.iter().any(|t| buses.wants_table(t))
                || facts
                    .alias_buses
                    .iter()
                    .any(|b| buses.wants_alias(&format!("{b}:")))
                || (facts.any_alias && *buses == Buses::All)
                || facts
                    .calls
                    .iter()
                    .any(|c| macros.get(c).is_some_and(wanted))
        })
    }
}

fn collect_headers(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => collect_headers(&p, out),
            Ok(t) if t.is_file() && p.extension().is_some_and(|x| x == "h") => out.push(p),
            _ => {}
        }
    }
}

/// `a/b/../c` -> `a/c`; `None` when it climbs out of the tree.
fn normalize(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

/// C text with comments replaced by spaces; string and character literals kept.
pub(crate) fn strip_comments(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
                // Keep newlines so line structure (preprocessor lines) survives.
                out.extend(
                    b[i..end]
                        .iter()
                        .map(|&c| if c == b'\n' { b'\n' } else { b' ' }),
                );
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    // A line comment ends at the newline, unless escaped.
                    if b[i] == b'\\' && b.get(i + 1) == Some(&b'\n') {
                        out.push(b' ');
                        i += 1;
                    }
                    out.push(b' ');
                    i += 1;
                }
            }
            q @ (b'"' | b'\'') => {
                out.push(q);
                i += 1;
                while i < b.len() && b[i] != q && b[i] != b'\n' {
                    if b[i] == b'\\' && i + 1 < b.len() {
                        out.push(b[i]);
                        i += 1;
                    }
                    out.push(b[i]);
                    i += 1;
                }
                if i < b.len() {
                    out.push(b[i]);
                    i += 1;
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The identifier at `i`, and the index after it.
fn ident_at(b: &[u8], i: usize) -> (&[u8], usize) {
    let mut j = i;
    while j < b.len() && is_ident(b[j]) {
        j += 1;
    }
    (&b[i..j], j)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len()
        && (b[i] == b' ' || b[i] == b'\t' || b[i] == b'\n' || b[i] == b'\r' || b[i] == b'\\')
    {
        i += 1;
    }
    i
}

/// What a stretch of C text holds: table types, alias buses, calls and includes.
fn scan_code(code: &str, f: &mut Facts) {
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' || c == b'\'' {
            // Skip literals (not identifiers).
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            continue;
        }
        if !(c.is_ascii_alphabetic() || c == b'_') || (i > 0 && is_ident(b[i - 1])) {
            i += 1;
            continue;
        }
        let (name, end) = ident_at(b, i);
        let after = skip_ws(b, end);
        if b.get(after) == Some(&b'(') {
            let arg = skip_ws(b, after + 1);
            match name {
                b"MODULE_DEVICE_TABLE" => {
                    let (t, _) = ident_at(b, arg);
                    if !t.is_empty() {
                        f.table_types
                            .insert(String::from_utf8_lossy(t).into_owned());
                    }
                }
                n if n.starts_with(b"MODULE_ALIAS") => {
                    f.any_alias = true;
                    if n == b"MODULE_ALIAS" && b.get(arg) == Some(&b'"') {
                        let (bus, e) = ident_at(b, arg + 1);
                        // `acpi*:` and `dmi*:` aliases carry a `*` before the colon.
                        let e = if b.get(e) == Some(&b'*') { e + 1 } else { e };
                        if b.get(e) == Some(&b':') && !bus.is_empty() {
                            f.alias_buses
                                .insert(String::from_utf8_lossy(bus).into_owned());
                        }
                    }
                }
                _ => {
                    f.calls.insert(String::from_utf8_lossy(name).into_owned());
                }
            }
        }
        i = end;
    }
}

/// Facts of one file's text.
fn scan_text(text: &str) -> Facts {
    let code = strip_comments(text);
    let mut f = Facts::default();
    let mut lines = code.lines().peekable();
    let mut body = String::new();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix('#') {
            // A preprocessor line and its continuations.
            let mut directive = rest.trim_start().to_owned();
            let mut l = line;
            while l.trim_end().ends_with('\\') {
                match lines.next() {
                    Some(next) => {
                        directive.push('\n');
                        directive.push_str(next);
                        l = next;
                    }
                    None => break,
                }
            }
            if let Some(inc) = directive.strip_prefix("include") {
                let inc = inc.trim();
                if let Some(q) = inc.strip_prefix('"')
                    && let Some(end) = q.find('"')
                {
                    f.includes.push(q[..end].to_owned());
                }
            } else if let Some(def) = directive.strip_prefix("define") {
                let def = def.trim_start();
                let (name, end) = ident_at(def.as_bytes(), 0);
                let name = String::from_utf8_lossy(name).into_owned();
                let mut m = Facts::default();
                scan_code(&def[end..], &mut m);
                if !name.is_empty() {
                    // A macro body names the table type literally or takes it as a parameter.
                    if let Some(t) = m.table_types.iter().next() {
                        let literal = !def[end..].starts_with('(')
                            || !def[end..]
                                .split(')')
                                .next()
                                .is_some_and(|params| params.split(',').any(|p| p.trim() == t));
                        f.table_macros
                            .insert(name, TableMacro::Table(literal.then(|| t.clone())));
                    } else if let Some(bus) = m.alias_buses.iter().next() {
                        f.table_macros.insert(name, TableMacro::Alias(bus.clone()));
                    } else if m.any_alias {
                        f.table_macros.insert(name, TableMacro::OtherAlias);
                    }
                }
            }
            continue;
        }
        body.push_str(line);
        body.push('\n');
    }
    scan_code(&body, &mut f);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wants(text: &str, buses: &str) -> bool {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.c"), text).expect("write");
        let mut s = Scanner::new(dir.path(), Buses::parse(buses).expect("buses"));
        s.has_tables(Path::new("a.c"))
    }

    #[test]
    fn finds_tables_of_wanted_buses_only() {
        let t = "static const struct pci_device_id ids[] = {{}};\nMODULE_DEVICE_TABLE( pci , ids);";
        assert!(wants(t, "pci,usb"));
        assert!(!wants(t, "usb"));
        assert!(wants(t, "all"));
        assert!(wants(
            "MODULE_ALIAS(\"usb:v1234p*d*dc*dsc*dp*ic*isc*ip*in*\");",
            "usb"
        ));
        assert!(!wants("MODULE_ALIAS(\"fs-ext4\");", "pci,usb"));
        assert!(wants("MODULE_ALIAS_FS(\"ext4\");", "all"));
        assert!(wants("MODULE_ALIAS(\"acpi*:PNP0C0A:*\");", "acpi"));
    }

    #[test]
    fn comments_and_strings_do_not_count() {
        assert!(!wants(
            "/* MODULE_DEVICE_TABLE(pci, x) */\n// MODULE_DEVICE_TABLE(usb, y)\n",
            "pci,usb"
        ));
        assert!(!wants(
            "const char *s = \"MODULE_DEVICE_TABLE(pci, x)\";",
            "pci"
        ));
    }

    #[test]
    fn quoted_includes_and_macros_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        std::fs::create_dir_all(p.join("d")).expect("mkdir");
        std::fs::write(
            p.join("d/uhci-pci.c"),
            "MODULE_DEVICE_TABLE(pci, uhci_pci_ids);",
        )
        .expect("w");
        std::fs::write(p.join("d/uhci-hcd.c"), "#include \"uhci-pci.c\"\nint x;").expect("w");
        std::fs::write(
            p.join("d/m.h"),
            "#define MY_DRIVER(tbl) \\\n  MODULE_DEVICE_TABLE(usb, tbl)\n#define OF_TBL(t) MODULE_DEVICE_TABLE(of, t)\n",
        )
        .expect("w");
        std::fs::write(p.join("d/user.c"), "#include \"m.h\"\nMY_DRIVER(ids);").expect("w");
        std::fs::write(p.join("d/of.c"), "#include \"m.h\"\nOF_TBL(ids);").expect("w");
        let mut s = Scanner::new(p, Buses::parse("pci,usb").expect("buses"));
        assert!(s.has_tables(Path::new("d/uhci-hcd.c")));
        assert!(s.has_tables(Path::new("d/user.c")));
        assert!(!s.has_tables(Path::new("d/of.c")));
    }

    #[test]
    fn bad_bus_lists_are_refused() {
        assert!(Buses::parse("").is_err());
        assert!(Buses::parse("PCI").is_err());
        assert!(Buses::parse("pci;usb").is_err());
        assert_eq!(Buses::parse("usb, pci").expect("ok").to_string(), "pci,usb");
    }

    #[test]
    fn alias_buses() {
        let b = Buses::parse("pci,usb").expect("ok");
        assert!(b.wants_alias("pci:v00008086d*"));
        assert!(b.wants_alias("usb:v1D6Bp0002d*"));
        assert!(!b.wants_alias("pci_epf:foo"));
        assert!(!b.wants_alias("acpi*:PNP0A03:*"));
        assert!(
            Buses::parse("x86cpu")
                .expect("ok")
                .wants_alias("cpu:type:x86,ven*fam*mod*:feature:*0058*")
        );
    }
}
