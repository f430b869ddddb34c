//! `escape`: uploaded text on its way into the exports. Markdown (`/kernel-report.md`): any cell
//! text, escaped ([`markdown::esc`]) or as an identifier ([`markdown::code`]), renders back as
//! exactly one table cell holding exactly that text, with no HTML and no markup. CSV
//! (`/machines.csv`, ...): a record written by [`csv::record`] reads back, by a CSV reader, as
//! the same fields, with the formula guard's `'` in front where a spreadsheet would have run one.
//!
//! Input: UTF-8 text (lossy); for CSV it is cut into fields at NUL bytes.

use hcl_aggregator::analysis::{csv, markdown};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

pub fn escape(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    markdown_cell(&text);
    csv_record(&text);
}

fn markdown_cell(text: &str) {
    // CommonMark reads NUL as U+FFFD, so that is the text a reader gets back.
    let want = text.replace('\0', "\u{fffd}");
    for md in [markdown::esc(text), markdown::code(text)] {
        let rows = cells(&format!("| h |\n|---|\n| {md} |\n"));
        assert_eq!(rows.len(), 2, "{text:?} as {md:?}: rows {rows:?}");
        assert_eq!(rows[1], std::slice::from_ref(&want), "{text:?} as {md:?}");
    }
}

/// The text of every cell of every row (header included) of GFM Markdown; a panic on any
/// HTML, or markup inside a cell.
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
            Event::Html(h) | Event::InlineHtml(h) => {
                panic!("HTML in the Markdown: {h:?} in {md:?}")
            }
            Event::Start(tag) if cell.is_some() => panic!("markup {tag:?} in a cell of {md:?}"),
            _ => {}
        }
    }
    rows
}

fn csv_record(text: &str) {
    // Two fields at least: a record of one empty field is an empty line, which CSV readers
    // skip, and no export writes one.
    let mut fields: Vec<&str> = text.split('\0').take(8).collect();
    fields.push("end");
    let mut out = String::new();
    csv::record(&mut out, &fields);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(out.as_bytes());
    let records: Vec<::csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("CSV reader refuses {out:?}: {e}"));
    assert_eq!(records.len(), 1, "{fields:?} as {out:?}: {records:?}");
    let got: Vec<&str> = records[0].iter().collect();
    let want: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{f}")
            } else {
                (*f).to_owned()
            }
        })
        .collect();
    assert_eq!(got, want, "{fields:?} as {out:?}");
}
