//! `hcl-kernels`: list, import, resolve and diff kernel profiles.

mod commands;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::{DeriveArgs, build, catalog, derive, diff, import_cmd, list, resolve};

#[derive(Parser)]
#[command(about = "Kernel profiles for HCL Probe")]
struct Cli {
    /// Use the profiles in this directory instead of the embedded ones.
    #[arg(long, global = true, env = "HCL_PROFILES")]
    profiles: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the profiles: kernel version, counts, provenance.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Make a profile from a /lib/modules tree, .deb or .rpm packages, or a text folder of
    /// data/kernel-data.
    Import {
        #[arg(required = true)]
        sources: Vec<PathBuf>,
        #[arg(long)]
        id: String,
        /// Directory to write `<id>.profile.zst` into.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// Distro firmware list: DEP-11 `.yml.gz` or `firmware-files.tsv` (repeatable).
        #[arg(long)]
        firmware: Vec<PathBuf>,
    },
    /// Which drivers of a kernel match modaliases (`-` reads them from stdin, one per line).
    Resolve {
        #[arg(long)]
        kernel: String,
        #[arg(long)]
        json: bool,
        /// `?` in a modalias is an unknown hex digit.
        #[arg(long)]
        partial: bool,
        #[arg(required = true)]
        modaliases: Vec<String>,
    },
    /// What kernel B loses and gains against kernel A.
    Diff {
        a: String,
        b: String,
        #[arg(long)]
        json: bool,
    },
    /// Regenerate every shipped profile from the repository's data/kernel-data.
    BuildShipped {
        /// The folder holding kernel-data/ (the repository's data/).
        #[arg(long, default_value = "data")]
        data: PathBuf,
        #[arg(long, default_value = "kernels/profiles")]
        out: PathBuf,
    },
    /// Derive a profile from kernel source and a config: compile only the objects holding
    /// device tables and run the tree's own modpost (needs gcc, make, flex, bison, bc,
    /// libelf-dev, libssl-dev; minutes to hours).
    Derive(Box<DeriveArgs>),
}

fn main() -> std::process::ExitCode {
    let cli = hcl_buildinfo::parse(
        env!("CARGO_PKG_VERSION"),
        hcl_kernels::Catalog::embedded_summary,
    );
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Errors quote file names and file contents: printed through the terminal filter.
            eprintln!(
                "hcl-kernels: {}",
                hcl_data::terminal_safe(&format!("{e:#}"))
            );
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::List { json } => list(&catalog(cli.profiles.as_deref())?, json),
        Command::Import {
            sources,
            id,
            out,
            firmware,
        } => import_cmd(&sources, &id, &out, &firmware),
        Command::Resolve {
            kernel,
            json,
            partial,
            modaliases,
        } => resolve(
            &catalog(cli.profiles.as_deref())?,
            &kernel,
            json,
            partial,
            &modaliases,
        ),
        Command::Diff { a, b, json } => diff(&catalog(cli.profiles.as_deref())?, &a, &b, json),
        Command::BuildShipped { data, out } => build(&data, &out),
        Command::Derive(args) => derive(&args),
    }
}
