//! `hcl-aggregator`: serve the HCL, import Qubes HCL reports, build the static site.

use clap::Parser;

#[derive(Parser)]
#[command(version, about = "The HCL Probe aggregator")]
enum Cli {
    /// Serve the HCL and the upload API.
    Serve,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse() {
        Cli::Serve => {}
    }
    Ok(())
}
