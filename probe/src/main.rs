//! `hcl-probe`: scan this machine and report which candidate kernels drive it.

mod commands;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use hcl_probe::output::Format;

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
    #[arg(long, env = "HCL_PROFILES")]
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

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Errors quote servers, files and sysfs: printed through the terminal filter.
            eprintln!("Error: {}", hcl_data::terminal_safe(&format!("{e:?}")));
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Scan {
            root,
            format,
            qubes_hcl,
            save,
            all,
        } => {
            let format = match format {
                FormatArg::Table => Format::Table,
                FormatArg::Json => Format::Json,
                FormatArg::Yaml => Format::Yaml,
            };
            commands::scan(&root, format, qubes_hcl.as_deref(), save.as_deref(), all)
        }
        Command::Capture { root, output } => commands::capture(&root, &output),
        Command::Upload {
            root,
            upload,
            from,
            yes,
        } => commands::upload(&root, &upload, from.as_deref(), yes),
    }
}
