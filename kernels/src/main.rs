//! `hcl-kernels`: list, import, resolve and diff kernel profiles.

use clap::Parser;

#[derive(Parser)]
#[command(version, about = "Kernel profiles for HCL Probe")]
enum Cli {
    /// List the shipped profiles.
    List,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse() {
        Cli::List => {
            for p in hcl_kernels::Catalog::embedded()?.profiles() {
                println!("{}", p.meta.id);
            }
        }
    }
    Ok(())
}
