//! `hcl-probe`: scan this machine and report which candidate kernels drive it.

mod commands;
mod stick_commands;

use std::path::PathBuf;

use anyhow::bail;
use clap::{Parser, Subcommand, ValueEnum};
use hcl_probe::output::Format;

#[derive(Parser)]
#[command(about = "Which candidate dom0 kernels drive this machine?")]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
enum StickCommand {
    /// Write a bootable disk image that boots each kernel on the machine and records what binds.
    #[cfg(feature = "stick-builder")]
    Build {
        /// The image file to write (new).
        #[arg(long)]
        out: PathBuf,
        /// One kernel: its packages, comma-separated (a Debian linux-image .deb; for 7.x
        /// linux-binary,linux-modules,linux-base; RHEL kernel-core,kernel-modules*.rpm). Repeat
        /// for each kernel, in boot order.
        #[arg(long = "kernel", required = true)]
        kernels: Vec<String>,
        /// Firmware packages (e.g. Debian's firmware-misc-nonfree) for every kernel.
        #[arg(long)]
        firmware: Vec<PathBuf>,
        /// systemd-boot: Debian's systemd-boot-efi .deb or its systemd-bootx64.efi (default:
        /// this system's).
        #[arg(long)]
        loader: Option<PathBuf>,
        /// The static hcl-probe to use as each kernel's /init (default: this binary).
        #[arg(long)]
        init: Option<PathBuf>,
        /// Size of the results partition.
        #[arg(long, default_value_t = 64)]
        results_mib: u64,
        /// Appended to every kernel command line (e.g. console=ttyS0,115200).
        #[arg(long, default_value = "")]
        append: String,
        /// Seconds since the Unix epoch that date the image's files and seed its GUIDs, so the
        /// same inputs give the same image (default: the build's time and random GUIDs).
        #[arg(long, env = "SOURCE_DATE_EPOCH")]
        source_date_epoch: Option<u64>,
    },
    /// Read back the runs a stick (or its image) recorded.
    Results {
        /// The image or the stick's whole-disk device.
        image: PathBuf,
        #[arg(long, value_enum, default_value = "table")]
        format: ResultsFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ResultsFormat {
    Table,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// The observation stick: build it, read its results.
    #[command(subcommand)]
    Stick(StickCommand),
    /// The stick's init (run as PID 1 inside its initramfs; see `stick build`).
    Observe,
    /// Scan the machine (or a captured tree) and print the report.
    Scan {
        #[command(flatten)]
        root: RootArgs,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
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
    /// Send a report to an aggregator: a fresh scan, the reports saved in a directory, or the
    /// runs on an observation stick.
    Upload {
        #[command(flatten)]
        root: RootArgs,
        #[command(flatten)]
        upload: UploadArgs,
        /// Send the reports saved there by `scan --save` (a directory), or those an observation
        /// stick recorded (its image or device), instead of scanning now.
        #[arg(long)]
        from: Option<PathBuf>,
        /// Do not ask before sending.
        #[arg(long)]
        yes: bool,
    },
}

fn main() -> std::process::ExitCode {
    // As /init of the stick's initramfs: no arguments to parse, and it must never return.
    if std::process::id() == 1 {
        hcl_probe::observe::run();
    }
    let cli: Cli = hcl_buildinfo::parse(env!("CARGO_PKG_VERSION"), commands::version_contents);
    match run(cli) {
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
        Command::Observe => bail!("observe runs only as PID 1, the init of the stick's kernels"),
        #[cfg(feature = "stick-builder")]
        Command::Stick(StickCommand::Build {
            out,
            kernels,
            firmware,
            loader,
            init,
            results_mib,
            append,
            source_date_epoch,
        }) => stick_commands::build(stick_commands::BuildArgs {
            out,
            kernels,
            firmware,
            loader,
            init,
            results_mib,
            append,
            source_date_epoch,
        }),
        Command::Stick(StickCommand::Results { image, format }) => {
            stick_commands::results(&image, matches!(format, ResultsFormat::Json))
        }
        Command::Scan {
            root,
            format,
            qubes_hcl,
            save,
            all,
        } => commands::scan(&root, format, qubes_hcl.as_deref(), save.as_deref(), all),
        Command::Capture { root, output } => commands::capture(&root, &output),
        Command::Upload {
            root,
            upload,
            from,
            yes,
        } => commands::upload(&root, &upload, from.as_deref(), yes),
    }
}
