//! The kernel choice report as Markdown, for a mailing list or forum post.

use std::fmt::Write;

use super::KernelChoiceReport;

/// Rows per table: a forum post should stay readable; the web page has everything.
const ROWS: usize = 25;

/// Render the report.
pub fn kernel_report(r: &KernelChoiceReport) -> String {
    let mut o = String::new();
    let names: Vec<&str> = r.candidates.iter().map(|k| k.id.as_str()).collect();
    let _ = writeln!(o, "# Kernel choice report: {}\n", esc(&names.join(", ")));
    let _ = write!(o, "{} machines (reports)", r.machines_total);
    if !r.filter.is_empty() {
        let _ = write!(o, ", filtered by {}", code(&r.filter.query()));
    }
    let _ = writeln!(
        o,
        ". A machine keeps a working dom0 on a kernel when every dom0-critical device (GPU, \
         storage, input, USB controller) that the kernel has data for is driven; machines with \
         no such device known are left out of the share. \"partial\" counts machines whose \
         answer rests on vendor:device ids only (Qubes HCL imports).\n"
    );
    let _ = writeln!(o, "## Machines that keep a working dom0\n");
    let _ = writeln!(
        o,
        "| kernel | version | dom0 works | share | fails | no data | partial |"
    );
    let _ = writeln!(o, "|---|---|---:|---:|---:|---:|---:|");
    for (s, k) in r.shares.iter().zip(&r.candidates) {
        let _ = writeln!(
            o,
            "| {} | {} | {} / {} | {}% | {} | {} | {} |",
            esc(&s.kernel),
            esc(&k.kernel_version),
            s.ok,
            s.assessed,
            s.percent(),
            s.fails,
            s.no_data,
            s.partial
        );
    }
    for to in r.candidates.iter().filter(|k| k.id != r.baseline) {
        let list: Vec<_> = r.losses.iter().filter(|l| l.to == to.id).collect();
        let _ = writeln!(
            o,
            "\n## Lost from {} to {} ({} device kinds)\n",
            esc(&r.baseline),
            esc(&to.id),
            list.len()
        );
        if list.is_empty() {
            let _ = writeln!(
                o,
                "No device driven by {} loses its driver.",
                esc(&r.baseline)
            );
            continue;
        }
        let _ = writeln!(
            o,
            "| device | name | role | machines | {} | why |",
            esc(&to.id)
        );
        let _ = writeln!(o, "|---|---|---|---:|---|---|");
        for l in list.iter().take(ROWS) {
            let _ = writeln!(
                o,
                "| {} | {}{} | {} | {} | {} | {} |",
                code(&l.device.id),
                esc(&l.name),
                if l.partial { " (partial ids)" } else { "" },
                l.role.as_str(),
                l.machine_count,
                l.verdict.as_str(),
                esc(&l.reason)
            );
        }
        if list.len() > ROWS {
            let _ = writeln!(o, "\n… and {} more.", list.len() - ROWS);
        }
    }
    for (title, list) in [
        ("Firmware gaps", &r.firmware_gaps),
        (
            "RHEL hardware status (disabled, unmaintained, deprecated)",
            &r.rhel,
        ),
    ] {
        let _ = writeln!(o, "\n## {title}\n");
        if list.is_empty() {
            let _ = writeln!(o, "None among these machines.");
            continue;
        }
        let _ = writeln!(o, "| kernel | device | name | role | machines | detail |");
        let _ = writeln!(o, "|---|---|---|---|---:|---|");
        for i in list.iter().take(ROWS) {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} |",
                esc(&i.kernel),
                code(&i.device.id),
                esc(&i.name),
                i.role.as_str(),
                i.machine_count,
                esc(&i.detail)
            );
        }
        if list.len() > ROWS {
            let _ = writeln!(o, "\n… and {} more.", list.len() - ROWS);
        }
    }
    o
}

/// Text for a Markdown table cell (or a heading) that reads back as exactly this text, in
/// one cell, with no markup and no HTML, in any CommonMark/GFM renderer:
/// - `&`, `<`, `>` become entities: no HTML, no autolink, no entity of the sender's;
/// - the punctuation that starts markup inside a line (`|`, which splits a GFM cell even
///   inside a code span, `\`, `` ` ``, `*`, `_`, `[`, `]`, `~`, `#`) is backslash-escaped;
/// - control characters (a line break would end the row) become numeric references, and so
///   do spaces at either end, which a table would trim. NUL becomes U+FFFD, as CommonMark
///   reads it anyway.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let last = s.chars().count().saturating_sub(1);
    for (i, c) in s.chars().enumerate() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\0' => out.push('\u{fffd}'),
            c if c.is_control() || (c.is_whitespace() && (i == 0 || i == last)) => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// An identifier (modalias, `vendor:device`) in a code span when it can be one exactly: no
/// backtick, pipe, backslash or control character, no space at either end. Otherwise it is
/// written as escaped text ([`esc`]): a hostile modalias such as
/// `acpi:GOOG0006:|x|<img src=x>` reads back as itself, in its own cell.
pub fn code(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.starts_with(char::is_whitespace)
        && !s.ends_with(char::is_whitespace)
        && !s.contains(|c: char| matches!(c, '`' | '|' | '\\') || c.is_control());
    if plain { format!("`{s}`") } else { esc(s) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

    /// Parse Markdown as GFM (tables, strikethrough) and return the text of every cell of every
    /// row, header included; panics on any HTML or markup inside a cell.
    fn cells(md: &str) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut cell: Option<String> = None;
        let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
        for ev in Parser::new_ext(md, opts) {
            match ev {
                Event::Start(Tag::TableHead | Tag::TableRow) => rows.push(Vec::new()),
                Event::Start(Tag::TableCell) => cell = Some(String::new()),
                Event::End(TagEnd::TableCell) => {
                    let text = cell.take().expect("cell open");
                    rows.last_mut().expect("row open").push(text);
                }
                Event::Text(t) | Event::Code(t) => {
                    if let Some(c) = cell.as_mut() {
                        c.push_str(&t);
                    }
                }
                Event::Html(h) | Event::InlineHtml(h) => panic!("HTML in the Markdown: {h:?}"),
                Event::Start(tag) if cell.is_some() => panic!("markup {tag:?} in a cell of {md:?}"),
                _ => {}
            }
        }
        rows
    }

    /// One body cell's text, from a one-column table.
    fn one_cell(cell_md: &str) -> Vec<Vec<String>> {
        cells(&format!("| h |\n|---|\n| {cell_md} |\n"))
    }

    fn read_back(text: &str) -> String {
        text.replace('\0', "\u{fffd}")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Any text renders back as exactly one cell with exactly that text, as escaped text
        /// and as an identifier.
        #[test]
        fn any_text_is_one_cell_with_that_text(
            text in prop_oneof![
                any::<String>(),
                // Mostly the characters that matter, so they meet each other often.
                proptest::collection::vec(
                    prop_oneof![
                        proptest::sample::select(
                            "|\\`*_[]~#<>&!():; \t\r\n\0\u{a0}\u{3000}-=+.x1"
                                .chars()
                                .collect::<Vec<_>>()
                        ),
                        any::<char>(),
                    ],
                    0..24,
                )
                .prop_map(|v| v.into_iter().collect::<String>()),
            ]
        ) {
            let want = read_back(&text);
            for md in [esc(&text), code(&text)] {
                let rows = one_cell(&md);
                prop_assert_eq!(rows.len(), 2, "{:?} -> {:?}", &text, &md);
                prop_assert_eq!(&rows[1], &vec![want.clone()], "{:?} -> {:?}", &text, &md);
            }
        }
    }

    /// Regression (issue 8): this modalias broke out of its cell (a `|` splits a GFM cell even
    /// inside a code span) and left raw HTML in `/kernel-report.md`.
    #[test]
    fn modalias_with_pipes_and_html_stays_in_its_cell() {
        let evil = "acpi:GOOG0006:|x|<img src=x onerror=alert(4)>";
        let md = code(evil);
        assert!(!md.contains("<img"), "{md}");
        assert_eq!(one_cell(&md)[1], [evil]);
        // An ordinary one keeps its code span.
        assert_eq!(code("pci:v00008086d0000A7A0*"), "`pci:v00008086d0000A7A0*`");
    }

    /// A whole report with hostile text in every column: every row has its header's number
    /// of cells, and each cell reads back as what was put in.
    #[test]
    fn every_column_of_the_report_is_escaped() {
        use crate::analysis::{
            DeviceIssue, DeviceKey, KernelChoiceReport, KernelInfo, KernelShare, Loss,
        };
        let evil = |what: &str| format!("{what}|x|<img src=x onerror=alert(4)>`*_\\[y](z)");
        let kernel = |id: &str| KernelInfo {
            id: evil(id),
            distro: String::new(),
            release: String::new(),
            kernel_version: evil("6.1"),
            package_version: String::new(),
            end_of_support: None,
            provenance: String::new(),
        };
        let device = DeviceKey {
            bus: "acpi".into(),
            id: "acpi:GOOG0006:|x|<img src=x onerror=alert(4)>".into(),
        };
        let issue = |kernel: &str| DeviceIssue {
            kernel: evil(kernel),
            device: device.clone(),
            device_url: None,
            name: evil("name"),
            role: hcl_data::Role::Dom0,
            verdict: hcl_data::Verdict::NoDriver,
            detail: evil("detail"),
            partial: false,
            machine_count: 1,
            machines: Vec::new(),
            last: 0,
        };
        let r = KernelChoiceReport {
            candidates: vec![kernel("a"), kernel("b")],
            baseline: evil("a"),
            filter: Default::default(),
            machines_total: 1,
            shares: vec![KernelShare {
                kernel: evil("a"),
                assessed: 1,
                ok: 1,
                fails: 0,
                no_data: 0,
                share: 1.0,
                partial: 0,
            }],
            losses: vec![Loss {
                from: evil("a"),
                to: evil("b"),
                device: device.clone(),
                device_url: None,
                name: evil("name"),
                category: "gpu".into(),
                role: hcl_data::Role::Dom0,
                verdict: hcl_data::Verdict::NoDriver,
                reason: evil("reason"),
                from_drivers: Vec::new(),
                partial: false,
                machine_count: 1,
                machines: Vec::new(),
                last: 0,
            }],
            firmware_gaps: vec![issue("fw")],
            rhel: vec![issue("rhel")],
        };
        let md = kernel_report(&r);
        let rows = cells(&md);
        assert!(rows.len() >= 8, "{md}");
        let mut width = 0;
        for row in &rows {
            if row.first().is_some_and(|c| c == "kernel" || c == "device") {
                width = row.len();
            }
            assert_eq!(row.len(), width, "row {row:?} in\n{md}");
        }
        let all: Vec<&String> = rows.iter().flatten().collect();
        for want in [
            evil("a"),
            evil("name"),
            evil("reason"),
            evil("detail"),
            evil("6.1"),
            device.id.clone(),
        ] {
            assert!(all.contains(&&want), "{want:?} not a cell of\n{md}");
        }
    }
}
