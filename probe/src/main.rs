//! `hcl-probe`: scan this machine and report which candidate kernels drive it.

use clap::Parser;

#[derive(Parser)]
#[command(version, about = "Which candidate dom0 kernels drive this machine?")]
enum Cli {
    /// Scan the machine (or a captured tree) and print the report.
    Scan,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse() {
        Cli::Scan => println!("{{}}"),
    }
    Ok(())
}
