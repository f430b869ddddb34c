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
        let _ = write!(o, ", filtered by `{}`", r.filter.query().replace('`', "'"));
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
                "| `{}` | {}{} | {} | {} | {} | {} |",
                l.device.id.replace('`', "'"),
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
                "| {} | `{}` | {} | {} | {} | {} |",
                esc(&i.kernel),
                i.device.id.replace('`', "'"),
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

/// Escape text for a Markdown table cell: no HTML, no table breaks, no emphasis.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            '|' | '*' | '_' | '`' | '[' | ']' | '\\' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_cells_cannot_break_out() {
        assert_eq!(super::esc("a|b<script>"), "a\\|b&lt;script&gt;");
    }
}
