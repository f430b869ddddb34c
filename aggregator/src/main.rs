//! `hcl-aggregator`: serve the HCL, import Qubes HCL reports, build the static site.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser};

#[derive(Parser)]
#[command(about = "The HCL Probe aggregator")]
enum Cli {
    /// Serve the HCL and the upload API.
    Serve(ServeArgs),
    /// Load the Qubes HCL YAML files of PATH into the database (idempotent): a folder of the
    /// files or a .tar.zst archive of them (the repository keeps data/qubes-hcl/qubes-hcl.tar.zst).
    ImportQubesHcl {
        path: PathBuf,
        /// Make the stored HCL imports exactly this import: remove the earlier ones it does not
        /// produce again (after an importer change, a new content id per file). Uploads are
        /// never touched; nothing is removed when a file fails.
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        db: DbArg,
    },
    /// Write the whole HCL as a static site (HTML, JSON, CSV) into DIR.
    BuildSite {
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        db: DbArg,
    },
    /// Print a report as Markdown.
    #[command(subcommand)]
    Report(ReportCmd),
}

#[derive(clap::Subcommand)]
enum ReportCmd {
    /// The kernel choice report, for a mailing list or forum post.
    Kernels {
        /// Candidate kernel ids, comma-separated; losses count from the first (or --baseline).
        #[arg(long, value_delimiter = ',', required = true)]
        candidates: Vec<String>,
        #[arg(long)]
        baseline: Option<String>,
        #[command(flatten)]
        filter: hcl_aggregator::analysis::Filter,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Args)]
struct DbArg {
    /// Database: sqlite://FILE (created on first start) or postgres://USER@HOST/DB.
    #[arg(long, env = "HCL_DB", default_value = "sqlite://hcl.db")]
    db: String,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArg,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "HCL_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    #[command(flatten)]
    config: hcl_aggregator::Config,
    /// Most SQLite writes committed together (group commit; 1 turns it off).
    #[arg(long, env = "HCL_SQLITE_BATCH", default_value_t = hcl_aggregator::store::sqlite::DEFAULT_MAX_BATCH)]
    sqlite_batch: usize,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = tokio::runtime::Runtime::new().context("start the async runtime")?;
    let cli = hcl_buildinfo::parse(
        env!("CARGO_PKG_VERSION"),
        hcl_kernel_engine::Catalog::embedded_summary,
    );
    match cli {
        Cli::Serve(a) => {
            let store_opts = hcl_aggregator::store::StoreOptions {
                sqlite_max_batch: a.sqlite_batch,
            };
            rt.block_on(hcl_aggregator::server::run(
                &a.db.db, store_opts, &a.listen, a.config,
            ))?;
        }
        Cli::ImportQubesHcl { path, replace, db } => {
            let replace = if replace {
                hcl_aggregator::import::Replace::Earlier
            } else {
                hcl_aggregator::import::Replace::Keep
            };
            let sum = rt.block_on(hcl_aggregator::import::import_cli(&db.db, &path, replace))?;
            if sum.created + sum.already_stored == 0 && sum.files > 0 {
                anyhow::bail!("no file of {} could be imported", path.display());
            }
        }
        Cli::BuildSite { out, db } => {
            let sum = rt.block_on(hcl_aggregator::site::build_site(&db.db, &out))?;
            eprintln!(
                "wrote {} files ({} machines, {} reports, {} devices) to {}",
                sum.files,
                sum.machines,
                sum.reports,
                sum.devices,
                out.display()
            );
        }
        Cli::Report(ReportCmd::Kernels {
            candidates,
            baseline,
            filter,
            db,
        }) => {
            let md = rt.block_on(hcl_aggregator::site::kernel_report_markdown(
                &db.db,
                &candidates,
                baseline.as_deref(),
                &filter,
            ))?;
            print!("{md}");
        }
    }
    Ok(())
}
