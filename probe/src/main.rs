//! `hcl-probe`: scan this machine and report which candidate kernels drive it.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use hcl_kernels::Catalog;
use hcl_probe::output::{self, Format, TableOptions};
use hcl_probe::root::Root;
use hcl_probe::{capture, scan, upload};

#[derive(Parser)]
#[command(version, about = "Which candidate dom0 kernels drive this machine?")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Table,
    Json,
    Yaml,
}

#[derive(clap::Args)]
struct RootArgs {
    /// Machine root: DIR/sys and DIR/proc are read (a captured tree works like a live machine).
    #[arg(long, default_value = "/")]
    root: PathBuf,
    /// Read kernel profiles from this directory instead of the embedded ones.
    #[arg(long, env = "HCL_PROFILES_DIR")]
    profiles: Option<PathBuf>,
}

#[derive(clap::Args)]
struct UploadArgs {
    /// Aggregator base URL (HTTPS).
    #[arg(long, env = "HCL_UPLOAD_URL")]
    url: String,
    /// PEM file with the only CA to trust for the server.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Tries after the first one, with exponential backoff.
    #[arg(long, default_value_t = 4)]
    retries: u32,
}

#[derive(Subcommand)]
enum Command {
    /// Scan the machine (or a captured tree) and print the report.
    Scan {
        #[command(flatten)]
        root: RootArgs,
        #[arg(long, value_enum, default_value = "table")]
        format: FormatArg,
        /// Also write a Qubes HCL YAML report to this file.
        #[arg(long)]
        qubes_hcl: Option<PathBuf>,
        /// Also save the report in this directory (e.g. on the USB stick) for `upload --from`.
        #[arg(long)]
        save: Option<PathBuf>,
        /// Table: list devices on every bus (acpi, platform, input, ...).
        #[arg(long)]
        all: bool,
    },
    /// Copy the sysfs/proc files the probe reads (identifiers left out) into a new directory.
    Capture {
        #[command(flatten)]
        root: RootArgs,
        /// Output directory (new or empty).
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Send a report to an aggregator: a fresh scan, or the reports saved in a directory.
    Upload {
        #[command(flatten)]
        root: RootArgs,
        #[command(flatten)]
        upload: UploadArgs,
        /// Send the reports saved there by `scan --save` instead of scanning now.
        #[arg(long)]
        from: Option<PathBuf>,
        /// Do not ask before sending.
        #[arg(long)]
        yes: bool,
    },
}

fn catalog(args: &RootArgs) -> anyhow::Result<Catalog> {
    Ok(match &args.profiles {
        Some(dir) => {
            Catalog::load_dir(dir).with_context(|| format!("profiles in {}", dir.display()))?
        }
        None => Catalog::embedded().context("embedded kernel profiles")?,
    })
}

fn do_scan(args: &RootArgs) -> anyhow::Result<hcl_data::Report> {
    let catalog = catalog(args)?;
    let root = Root::new(&args.root);
    let scan = scan::scan(&root, &catalog)?;
    for w in &scan.warnings {
        eprintln!("warning: {w}");
    }
    Ok(scan.report)
}

fn upload_options(u: &UploadArgs) -> upload::UploadOptions {
    let mut opts = upload::UploadOptions::new(&u.url);
    opts.ca_file = u.ca_file.clone();
    opts.retries = u.retries;
    opts.backoff = Duration::from_secs(1);
    opts
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Scan {
            root,
            format,
            qubes_hcl,
            save,
            all,
        } => {
            let report = do_scan(&root)?;
            let format = match format {
                FormatArg::Table => Format::Table,
                FormatArg::Json => Format::Json,
                FormatArg::Yaml => Format::Yaml,
            };
            let table = TableOptions {
                color: output::color_wanted(),
                all,
            };
            let text = output::render(&report, format, table)?;
            std::io::stdout().write_all(text.as_bytes())?;
            if let Some(file) = qubes_hcl {
                let yaml = output::qubes_hcl(&report)?;
                std::fs::write(&file, yaml)
                    .with_context(|| format!("writing {}", file.display()))?;
                eprintln!("Qubes HCL report written to {}", file.display());
            }
            if let Some(dir) = save {
                let path = upload::save_report(&report, &dir)?;
                eprintln!("report saved to {}", path.display());
            }
        }
        Command::Capture { root, output } => {
            let catalog = catalog(&root)?;
            let done = capture::capture(&root.root, &output, &catalog)?;
            for w in &done.warnings {
                eprintln!("warning: {w}");
            }
            eprintln!(
                "captured {} files and {} links into {}",
                done.files,
                done.links,
                output.display()
            );
        }
        Command::Upload {
            root,
            upload: up,
            from,
            yes,
        } => {
            let opts = upload_options(&up);
            if let Some(dir) = from {
                let results = upload::upload_saved(&dir, &opts)?;
                let mut failed = 0;
                for r in &results {
                    match &r.result {
                        Ok(o) => eprintln!("{}: sent, {}", r.file.display(), o.url),
                        Err(e) => {
                            failed += 1;
                            eprintln!("{}: not sent: {e}", r.file.display());
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
            let report = do_scan(&root)?;
            println!(
                "This is exactly what will be sent to {}:\n",
                opts.endpoint()
            );
            println!("{}", upload::preview(&report));
            if !yes && !confirm("Send it? [y/N] ")? {
                bail!("not sent");
            }
            let outcome = upload::upload_report(&report, &opts)?;
            println!(
                "{} {}",
                if outcome.already_stored {
                    "already stored:"
                } else {
                    "stored:"
                },
                outcome.url
            );
        }
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
