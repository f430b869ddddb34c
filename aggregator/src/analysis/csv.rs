//! CSV exports of the lists, the kernel choice report and the readiness figures (RFC 4180
//! quoting).

use hcl_data::Tri;

use super::readiness::{PassthroughCounts, ReadinessFigures};
use super::{Hcl, KernelChoiceReport};

/// What a spreadsheet runs as a formula when a cell starts with it (OWASP "CSV Injection",
/// ASVS 1.2.10).
const FORMULA_START: [char; 7] = ['=', '+', '-', '@', '\t', '\r', '\0'];

/// Append one CSV record. Fields that a spreadsheet would run as a formula get a leading `'`:
/// uploaded model names end up in these files. That includes a formula behind leading
/// separators (`;=1+2`), since a spreadsheet whose list separator is `;` (German, French
/// locales) starts a new cell after it; and every field holding a separator, `,` or `;`, is
/// quoted so that it stays one cell in either kind of locale.
pub fn record(out: &mut String, fields: &[&str]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let guarded;
        let f = if f.trim_start_matches([';', ',']).starts_with(FORMULA_START) {
            guarded = format!("'{f}");
            guarded.as_str()
        } else {
            f
        };
        if f.contains([',', ';', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push_str("\r\n");
}

/// `/machines.csv`: one line per machine model, with per kernel whether its newest report
/// keeps a working dom0.
pub fn machines(hcl: &Hcl) -> String {
    let mut out = String::new();
    let mut head = vec!["brand", "model", "type", "reports", "latest", "url"];
    let ids: Vec<String> = hcl
        .kernels
        .iter()
        .map(|k| format!("dom0_ok:{}", k.id))
        .collect();
    head.extend(ids.iter().map(String::as_str));
    record(&mut out, &head);
    for m in &hcl.machines {
        let n = m.reports.len().to_string();
        let url = m.key.url();
        let latest = m.latest_day.to_string();
        let newest = m.reports.last().map(|i| &hcl.reports[*i]);
        let states: Vec<&str> = (0..hcl.kernels.len())
            .map(|k| {
                newest
                    .and_then(|r| r.status.get(k))
                    .map_or(Tri::Unknown, |s| s.state().dom0_works())
                    .as_str()
            })
            .collect();
        let mut row = vec![
            m.brand.as_str(),
            m.model.as_str(),
            m.machine_type.as_str(),
            n.as_str(),
            latest.as_str(),
            url.as_str(),
        ];
        row.extend(states);
        record(&mut out, &row);
    }
    out
}

/// `/devices.csv`: one line per device kind with its verdict per kernel.
pub fn devices(hcl: &Hcl) -> String {
    let mut out = String::new();
    let mut head = vec!["bus", "id", "name", "category", "role", "machines"];
    let ids: Vec<&str> = hcl.kernels.iter().map(|k| k.id.as_str()).collect();
    head.extend(&ids);
    record(&mut out, &head);
    for d in &hcl.devices {
        let n = d.reports.len().to_string();
        let role = d.role.as_str();
        let verdicts: Vec<&str> = d.per_kernel.iter().map(|c| c.verdict.as_str()).collect();
        let mut row = vec![
            d.key.bus.as_str(),
            d.key.id.as_str(),
            d.name.as_str(),
            d.category.as_str(),
            role,
            n.as_str(),
        ];
        row.extend(verdicts);
        record(&mut out, &row);
    }
    out
}

/// `/kernel-report.csv`: the shares, then the losses, firmware gaps and RHEL entries, one table
/// with a `section` column so that a spreadsheet filter separates them.
pub fn kernel_report(r: &KernelChoiceReport) -> String {
    let mut out = String::new();
    record(
        &mut out,
        &[
            "section", "kernel", "from", "device", "name", "role", "machines", "assessed", "share",
            "detail", "partial",
        ],
    );
    for s in &r.shares {
        let (ok, assessed, share) = (
            s.ok.to_string(),
            s.assessed.to_string(),
            format!("{:.4}", s.share),
        );
        let detail = format!("{} fail, {} without data", s.fails, s.no_data);
        let partial = s.partial.to_string();
        record(
            &mut out,
            &[
                "share", &s.kernel, "", "", "", "dom0", &ok, &assessed, &share, &detail, &partial,
            ],
        );
    }
    for l in &r.losses {
        let n = l.machine_count.to_string();
        let detail = format!("{}: {}", l.verdict, l.reason);
        record(
            &mut out,
            &[
                "loss",
                &l.to,
                &l.from,
                &l.device.id,
                &l.name,
                l.role.as_str(),
                &n,
                "",
                "",
                &detail,
                if l.partial { "yes" } else { "no" },
            ],
        );
    }
    for (section, list) in [("firmware", &r.firmware_gaps), ("rhel", &r.rhel)] {
        for i in list {
            let n = i.machine_count.to_string();
            record(
                &mut out,
                &[
                    section,
                    &i.kernel,
                    "",
                    &i.device.id,
                    &i.name,
                    i.role.as_str(),
                    &n,
                    "",
                    "",
                    &i.detail,
                    if i.partial { "yes" } else { "no" },
                ],
            );
        }
    }
    out
}

/// `/readiness.csv`: one line per controller model, machine models and reports per verdict.
pub fn readiness_controllers(f: &ReadinessFigures) -> String {
    let mut out = String::new();
    let mut head: Vec<String> = [
        "kind",
        "service_vm",
        "vendor_device",
        "name",
        "machines",
        "reports",
    ]
    .map(str::to_owned)
    .to_vec();
    for (name, _) in PassthroughCounts::default().columns() {
        head.push(format!("{name}_machines"));
        head.push(format!("{name}_reports"));
    }
    head.push("grouped_with".into());
    record(
        &mut out,
        &head.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    for c in &f.controllers {
        let mut row: Vec<String> = vec![
            c.kind.label().to_owned(),
            c.service_vm.name().to_owned(),
            c.id.clone(),
            c.name.clone(),
            c.machines.to_string(),
            c.reports.to_string(),
        ];
        for (_, t) in c.counts.columns() {
            row.push(t.machines.to_string());
            row.push(t.reports.to_string());
        }
        row.push(
            c.grouped_with
                .iter()
                .map(|m| format!("{} ({} machines)", m.id, m.machines))
                .collect::<Vec<_>>()
                .join("; "),
        );
        record(
            &mut out,
            &row.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }
    out
}

/// `/readiness-suspend.csv`: one line per kind of suspend support.
pub fn readiness_suspend(f: &ReadinessFigures) -> String {
    let mut out = String::new();
    record(&mut out, &["suspend", "machines", "reports"]);
    for (name, t) in f.suspend.columns() {
        record(
            &mut out,
            &[name, &t.machines.to_string(), &t.reports.to_string()],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::record;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        let mut s = String::new();
        record(&mut s, &["a,b", "say \"hi\"", "=HYPERLINK(\"x\")", "plain"]);
        assert_eq!(
            s,
            "\"a,b\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"x\"\")\",plain\r\n"
        );
    }

    /// Regression (attack D7): `;=1+2` went out unquoted and unguarded; a spreadsheet whose
    /// list separator is `;` split it and ran `=1+2`.
    #[test]
    fn semicolons_are_quoted_and_formulas_behind_them_defused() {
        let mut s = String::new();
        record(
            &mut s,
            &[";=1+2", "a;b", ";;@SUM(A1)", ",-1", "; plain", "ok"],
        );
        assert_eq!(
            s,
            "\"';=1+2\",\"a;b\",\"';;@SUM(A1)\",\"',-1\",\"; plain\",ok\r\n"
        );
    }
}
