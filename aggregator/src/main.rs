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
    /// Bearer token for moderation; without it moderation is disabled.
    #[arg(long, env = "HCL_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Largest upload in bytes, counted after decompression.
    #[arg(long, env = "HCL_MAX_BODY_BYTES", default_value_t = defaults().max_body_bytes)]
    max_body_bytes: usize,
    /// Uploads per second per client address (0: no limit).
    #[arg(long, env = "HCL_RATE_PER_SEC", default_value_t = defaults().rate_per_sec)]
    rate_per_sec: f64,
    /// Uploads a client address may send in a burst.
    #[arg(long, env = "HCL_RATE_BURST", default_value_t = defaults().rate_burst)]
    rate_burst: u32,
    /// Seconds an upload's body may take to arrive (then 408).
    #[arg(long, env = "HCL_BODY_TIMEOUT_SECS", default_value_t = defaults().body_timeout.as_secs())]
    body_timeout_secs: u64,
    /// Behind a reverse proxy: rate-limit by the last X-Forwarded-For address.
    #[arg(long, env = "HCL_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// Seconds the fleet pages may stay behind new uploads before they are rebuilt (a rebuild
    /// reads every report; moderation and a report's own page show at once).
    #[arg(long, env = "HCL_PAGE_UPLOAD_LAG_SECS", default_value_t = defaults().page_upload_lag.as_secs())]
    page_upload_lag_secs: u64,
    /// Page snapshots per second a client address may have built for filtered pages (each
    /// reads every report; the unfiltered pages are never limited); 0: no limit.
    #[arg(long, env = "HCL_PAGE_BUILD_RATE_PER_SEC", default_value_t = defaults().page_build_rate_per_sec)]
    page_build_rate_per_sec: f64,
    /// Such builds a client address may cause at once.
    #[arg(long, env = "HCL_PAGE_BUILD_BURST", default_value_t = defaults().page_build_burst)]
    page_build_burst: u32,
    /// Seconds a connection has to send a request's whole header, from when it opens or from
    /// the end of its previous response (so idle keep-alive connections close too).
    #[arg(long, env = "HCL_HEADER_READ_TIMEOUT_SECS", default_value_t = defaults().header_read_timeout.as_secs())]
    header_read_timeout_secs: u64,
    /// Connections open at once (more wait in the listen queue); the open-file limit is raised
    /// to fit, or this is lowered to fit the hard limit.
    #[arg(long, env = "HCL_MAX_CONNECTIONS", default_value_t = defaults().max_connections)]
    max_connections: usize,
    /// Wrong admin tokens a client address may send before it gets 429.
    #[arg(long, env = "HCL_ADMIN_FAILURE_BURST", default_value_t = defaults().admin_failure_burst)]
    admin_failure_burst: u32,
    /// Wrong admin tokens per second a client address earns back; 0: no limit.
    #[arg(long, env = "HCL_ADMIN_FAILURE_RATE_PER_SEC", default_value_t = defaults().admin_failure_rate_per_sec)]
    admin_failure_rate_per_sec: f64,
    /// Most SQLite writes committed together (group commit; 1 turns it off).
    #[arg(long, env = "HCL_SQLITE_BATCH", default_value_t = hcl_aggregator::store::sqlite::DEFAULT_MAX_BATCH)]
    sqlite_batch: usize,
}

/// The server's defaults live in one place, `Config::default`; the flags show them.
fn defaults() -> hcl_aggregator::Config {
    hcl_aggregator::Config::default()
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
        hcl_kernels::Catalog::embedded_summary,
    );
    match cli {
        Cli::Serve(a) => {
            let config = hcl_aggregator::Config {
                max_body_bytes: a.max_body_bytes,
                admin_token: a.admin_token,
                rate_per_sec: a.rate_per_sec,
                rate_burst: a.rate_burst,
                trust_forwarded_for: a.trust_forwarded_for,
                body_timeout: std::time::Duration::from_secs(a.body_timeout_secs),
                page_upload_lag: std::time::Duration::from_secs(a.page_upload_lag_secs),
                page_build_rate_per_sec: a.page_build_rate_per_sec,
                page_build_burst: a.page_build_burst,
                header_read_timeout: std::time::Duration::from_secs(a.header_read_timeout_secs),
                max_connections: a.max_connections,
                admin_failure_burst: a.admin_failure_burst,
                admin_failure_rate_per_sec: a.admin_failure_rate_per_sec,
            };
            let store_opts = hcl_aggregator::store::StoreOptions {
                sqlite_max_batch: a.sqlite_batch,
            };
            rt.block_on(hcl_aggregator::server::run(
                &a.db.db, store_opts, &a.listen, config,
            ))?;
        }
        Cli::ImportQubesHcl { path, db } => {
            let sum = rt.block_on(hcl_aggregator::import::import_cli(&db.db, &path))?;
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
