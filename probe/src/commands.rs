//! What each subcommand does, behind the argument parsing of main.rs.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use hcl_data::{terminal_line, terminal_safe};
use hcl_kernel_engine::Catalog;
use hcl_probe::output::{self, Format, TableOptions};
use hcl_probe::root::Root;
use hcl_probe::{capture as cap, scan as sc, upload as up};

use crate::{RootArgs, UploadArgs};

/// What `--version` lists after the commit and toolchain: the embedded id databases and
/// kernel profiles.
pub fn version_contents() -> String {
    format!(
        "{}\n{}",
        hcl_probe::ids::embedded_summary(),
        Catalog::embedded_summary()
    )
}

/// Scan and print the warnings to stderr (stdout carries only the report).
fn scan_report(args: &RootArgs) -> anyhow::Result<hcl_data::Report> {
    let root = Root::new(&args.root);
    // Decompressing the profiles is most of a scan's time: it runs on background threads while
    // sysfs is walked; then only the aliases this machine's devices could match are parsed.
    let pending = match &args.profiles {
        Some(dir) => {
            Catalog::start_dir(dir).with_context(|| format!("profiles in {}", dir.display()))?
        }
        None => Catalog::start_embedded(),
    };
    let (scan, catalog) = sc::scan_pending(&root, pending)?;
    // The process ends right after the report is printed; freeing the profiles' tens of
    // thousands of small allocations (modules, firmware files) one by one is wasted work.
    std::mem::forget(catalog);
    for w in &scan.warnings {
        eprintln!("warning: {}", terminal_line(&w.to_string()));
    }
    Ok(scan.report)
}

pub fn scan(
    root: &RootArgs,
    format: Format,
    qubes_hcl: Option<&Path>,
    save: Option<&Path>,
    all: bool,
) -> anyhow::Result<()> {
    let report = scan_report(root)?;
    let table = TableOptions {
        color: output::color_wanted(),
        all,
    };
    let text = output::render(&report, format, table)?;
    if let Err(e) = std::io::stdout().write_all(text.as_bytes()) {
        // `hcl-probe scan | head`: the reader is gone; still write the files asked for.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    if let Some(file) = qubes_hcl {
        let yaml = output::qubes_hcl(&report)?;
        std::fs::write(file, yaml).with_context(|| format!("writing {}", file.display()))?;
        eprintln!("Qubes HCL report written to {}", file.display());
    }
    if let Some(dir) = save {
        let path = up::save_report(&report, dir)?;
        eprintln!("report saved to {}", path.display());
    }
    Ok(())
}

pub fn capture(root: &RootArgs, output: &Path) -> anyhow::Result<()> {
    let done = cap::capture(&root.root, output)?;
    for w in &done.warnings {
        eprintln!("warning: {}", terminal_line(&w.to_string()));
    }
    eprintln!(
        "captured {} files and {} links into {}",
        done.files,
        done.links,
        output.display()
    );
    Ok(())
}

pub fn upload(
    root: &RootArgs,
    args: &UploadArgs,
    from: Option<&Path>,
    yes: bool,
) -> anyhow::Result<()> {
    let mut opts = up::UploadOptions::new(&args.url);
    opts.ca_file = args.ca_file.clone();
    opts.retries = args.retries;
    opts.backoff = Duration::from_secs(1);
    if let Some(stick) = from.filter(|p| !p.is_dir()) {
        return upload_stick(stick, &opts, yes);
    }
    if let Some(dir) = from {
        // Show exactly what leaves the machine, as for a fresh scan.
        let pending = up::pending_files(dir)?;
        for file in &pending {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            // The file and its name come from the folder: shown, not obeyed by the terminal.
            println!(
                "{} will be sent to {}:\n{}",
                terminal_line(&file.display().to_string()),
                terminal_line(&opts.endpoint()),
                terminal_safe(&text)
            );
        }
        if !pending.is_empty() && !yes && !confirm("Send them? [y/N] ")? {
            bail!("not sent");
        }
        let results = up::upload_saved(dir, &opts)?;
        if results.is_empty() {
            eprintln!("no unsent report in {}", dir.display());
        }
        let mut failed = 0;
        for r in &results {
            let file = r.file.display().to_string();
            match &r.result {
                // The URL is the server's: never printed as it came.
                Ok(o) => eprintln!("{}: sent, {}", terminal_line(&file), terminal_line(&o.url)),
                Err(e) => {
                    failed += 1;
                    eprintln!(
                        "{}: not sent: {}",
                        terminal_line(&file),
                        terminal_line(&e.to_string())
                    );
                }
            }
        }
        if failed > 0 {
            bail!(
                "{failed} saved report(s) were not sent; they stay in {}",
                dir.display()
            );
        }
        return Ok(());
    }
    let report = scan_report(root)?;
    println!(
        "This is exactly what will be sent to {}:\n",
        terminal_line(&opts.endpoint())
    );
    println!("{}", terminal_safe(&up::preview(&report)));
    if !yes && !confirm("Send it? [y/N] ")? {
        bail!("not sent");
    }
    let outcome = up::upload_report(&report, &opts)?;
    let what = if outcome.already_stored {
        "already stored:"
    } else {
        "stored:"
    };
    println!("{what} {}", terminal_line(&outcome.url));
    Ok(())
}

/// The reports an observation stick recorded, each shown, then sent (idempotent: a report sent
/// before is answered "already stored").
fn upload_stick(stick: &Path, opts: &up::UploadOptions, yes: bool) -> anyhow::Result<()> {
    let results = hcl_probe::stick::results::read(stick)?;
    let reports = results.reports();
    if reports.is_empty() {
        bail!("no report on {}", stick.display());
    }
    // Reports read from a stick and the server's answers are untrusted text: escaped like
    // the other upload paths (found from outside: this one printed them raw).
    for r in &reports {
        println!(
            "This will be sent to {}:\n",
            terminal_line(&opts.endpoint())
        );
        println!("{}", terminal_safe(&up::preview(r)));
    }
    if !yes && !confirm(&format!("Send these {} report(s)? [y/N] ", reports.len()))? {
        bail!("not sent");
    }
    for r in reports {
        let outcome = up::upload_report(r, opts)?;
        let what = if outcome.already_stored {
            "already stored:"
        } else {
            "stored:"
        };
        println!("{what} {}", terminal_line(&outcome.url));
    }
    Ok(())
}

fn confirm(prompt: &str) -> anyhow::Result<bool> {
    print!("{prompt}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "Yes"))
}
