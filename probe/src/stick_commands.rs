//! What the `stick` subcommands do, behind the argument parsing of main.rs.

use std::path::Path;
#[cfg(feature = "stick-builder")]
use std::path::PathBuf;

#[cfg(feature = "stick-builder")]
use anyhow::Context;
use anyhow::bail;
use hcl_probe::stick::results;

#[cfg(feature = "stick-builder")]
pub struct BuildArgs {
    pub out: PathBuf,
    pub kernels: Vec<String>,
    pub firmware: Vec<PathBuf>,
    pub loader: Option<PathBuf>,
    pub init: Option<PathBuf>,
    pub results_mib: u64,
    pub append: String,
    pub source_date_epoch: Option<u64>,
}

#[cfg(feature = "stick-builder")]
pub fn build(args: BuildArgs) -> anyhow::Result<()> {
    use hcl_probe::stick::build::{BuildOptions, build};
    let kernels: Vec<Vec<PathBuf>> = args
        .kernels
        .iter()
        .map(|k| {
            k.split(',')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .collect();
    // By default the init is this very binary, when it is the static one.
    let init = match args.init {
        Some(p) => p,
        None => std::env::current_exe().context("finding this executable")?,
    };
    let mut opts = BuildOptions::new(args.out.clone(), kernels, init);
    opts.firmware = args.firmware;
    opts.loader = args.loader;
    opts.results_mib = args.results_mib;
    opts.append = args.append;
    opts.source_date_epoch = args.source_date_epoch;
    let built = build(&opts, &|line| eprintln!("{line}"))?;
    eprintln!(
        "{}: {:.1} MiB, {} kernel(s), built in {:.1} s",
        args.out.display(),
        built.image_bytes as f64 / 1048576.0,
        built.kernels.len(),
        built.seconds
    );
    for k in &built.kernels {
        eprintln!(
            "  {}: image {:.1} MiB, initramfs {:.1} MiB ({} modules that reach the stick), {} \
             more modules on the modules partition ({:.1} MiB)",
            k.release,
            k.image_bytes as f64 / 1048576.0,
            k.initrd_bytes as f64 / 1048576.0,
            k.initrd_modules,
            k.modules - k.initrd_modules,
            k.stored_bytes as f64 / 1048576.0
        );
    }
    eprintln!(
        "write it to a USB stick (dd if={} of=/dev/sdX bs=4M conv=fsync), boot the machine from \
         it with Secure Boot off, then read the runs with `hcl-probe stick results`",
        args.out.display()
    );
    Ok(())
}

pub fn results(image: &Path, json: bool) -> anyhow::Result<()> {
    // What a stick holds was written by the machine under test (or anyone): no escape
    // sequence of it reaches the terminal.
    let r = results::read(image)?;
    for f in r.failures() {
        eprintln!("no result: {}", hcl_data::terminal_line(&f));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&r.reports())?);
    } else {
        print!("{}", hcl_data::terminal_safe(&results::table(&r)));
    }
    if r.sessions.is_empty() && !json {
        bail!("no runs on {}", image.display());
    }
    Ok(())
}
