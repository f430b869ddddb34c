//! What each `hcl-kernels` subcommand does, behind the argument parsing of main.rs.

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use hcl_kernels::{Catalog, FirmwareList, ProfileBuilder, ProfileMeta, build_shipped, import};

pub(crate) fn catalog(dir: Option<&Path>) -> anyhow::Result<Catalog> {
    Ok(match dir {
        Some(d) => Catalog::load_dir(d)?,
        None => Catalog::embedded()?,
    })
}

pub(crate) fn list(catalog: &Catalog, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if !json {
        // Built-in aliases: "recorded" are the kernel's own (6.18+ records device tables of
        // built-in drivers), "inferred" are what the engine adds beyond kmod for older ones.
        writeln!(
            out,
            "{:<20} {:<28} {:>7} {:>8} {:>7}  {:>17}  {:>8}  {:>8}",
            "id",
            "kernel",
            "modules",
            "built-in",
            "aliases",
            "built-in recorded",
            "inferred",
            "firmware"
        )?;
    }
    for p in catalog.profiles() {
        let m = &p.meta;
        if json {
            writeln!(out, "{}", serde_json::to_string(m)?)?;
            continue;
        }
        let c = &m.counts;
        writeln!(
            out,
            "{:<20} {:<28} {:>7} {:>8} {:>7}  {:>17}  {:>8}  {:>8}{}",
            m.id,
            m.kernel_version,
            c.modules,
            c.builtin_modules,
            c.aliases,
            c.builtin_aliases,
            c.inferred_aliases,
            if m.has_firmware_list {
                c.firmware_files.to_string()
            } else {
                "unknown".to_owned()
            },
            if m.covered_buses.is_empty() {
                String::new()
            } else {
                format!("  (buses: {})", m.covered_buses.join(","))
            }
        )?;
        writeln!(out, "{:<20} {}", "", m.provenance)?;
        // Beyond aliases: where force_probe, chip support and per-chip firmware were read.
        let conditions = if m.conditions_source.is_empty() {
            "unknown: this kernel's source is not available here, force_probe, chip support \
             and per-chip firmware are not checked"
                .to_owned()
        } else {
            format!("{} records from {}", c.conditions, m.conditions_source)
        };
        writeln!(out, "{:<20} binding conditions: {conditions}", "")?;
    }
    Ok(())
}

pub(crate) fn progress_bar(len: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} ({elapsed})")
    {
        bar.set_style(style);
    }
    bar
}

pub(crate) fn import_cmd(
    sources: &[PathBuf],
    id: &str,
    out: &Path,
    firmware: &[PathBuf],
) -> anyhow::Result<()> {
    // The id names the file written into `out`: a plain name, checked before any work.
    hcl_kernels::check_id(id).context("--id")?;
    let mut pairs = Vec::new();
    for f in firmware {
        let name = f.to_string_lossy();
        if name.ends_with(".gz") {
            pairs.extend(import::read_dep11(f)?);
        } else {
            pairs.extend(import::read_firmware_tsv(f)?);
        }
    }
    let fw = (!firmware.is_empty()).then(|| FirmwareList::from_pairs(pairs));
    let meta = ProfileMeta {
        id: id.to_owned(),
        ..Default::default()
    };
    let mut builder = match sources {
        [dir] if import::data_file(dir, "modules.alias").is_some() => {
            let mut b = import::import_debian_dir(dir, meta)?;
            b.meta.real_data = true;
            b.firmware = fw;
            b
        }
        [dir] if import::data_file(dir, "modules.alias.pci-usb").is_some() => {
            let mut b = import::import_derived_dir(dir, meta)?;
            b.firmware = fw;
            b
        }
        _ => {
            let bar = progress_bar(0);
            let set = hcl_kernels::binary::read_sources(sources, &|done, total| {
                bar.set_length(total);
                bar.set_position(done);
            });
            bar.finish_and_clear();
            ProfileBuilder::from_module_set(meta, &set?, fw)
        }
    };
    // Kernels before about 6.18 do not record built-in device aliases: infer them from the
    // shipped profiles, as build-shipped does.
    if builder.meta.real_data {
        let inferred = builder.infer_from_catalog(&Catalog::embedded()?);
        if inferred > 0 {
            eprintln!("inferred {inferred} built-in aliases from the shipped profiles");
        }
    }
    let profile = builder.build();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let path = out.join(format!("{id}.profile.zst"));
    hcl_kernels::fsio::write_replacing(&path, &profile.encode()?)
        .with_context(|| format!("writing {}", path.display()))?;
    let c = &profile.meta.counts;
    println!(
        "{}: {} modules, {} built-in, {} aliases, {} built-in aliases",
        path.display(),
        c.modules,
        c.builtin_modules,
        c.aliases,
        c.builtin_aliases
    );
    Ok(())
}

pub(crate) fn resolve(
    catalog: &Catalog,
    kernel: &str,
    json: bool,
    partial: bool,
    args: &[String],
) -> anyhow::Result<()> {
    let profile = catalog.get(kernel)?;
    let mut modaliases: Vec<String> = Vec::new();
    for a in args {
        if a == "-" {
            for line in std::io::stdin().lock().lines() {
                let line = line.context("reading modaliases from standard input")?;
                let line = line.trim();
                if !line.is_empty() {
                    modaliases.push(line.to_owned());
                }
            }
        } else {
            modaliases.push(a.clone());
        }
    }
    if modaliases.is_empty() {
        bail!("no modalias given: standard input was empty");
    }
    let mut out = std::io::stdout().lock();
    for m in &modaliases {
        let cov = profile.coverage(m, partial);
        if json {
            let mut v = serde_json::to_value(&cov)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("modalias".into(), m.clone().into());
                o.insert("kernel".into(), kernel.into());
                let bus = hcl_data::Modalias::parse(m)
                    .map_or_else(|_| hcl_kernels::pattern_bus(m), |m| m.bus());
                o.insert("bus".into(), bus.into());
            }
            writeln!(out, "{v}")?;
        } else {
            writeln!(out, "{m}\n  {:?}: {}", cov.verdict, cov.reason)?;
        }
    }
    Ok(())
}

pub(crate) fn diff(catalog: &Catalog, a: &str, b: &str, json: bool) -> anyhow::Result<()> {
    let d = hcl_kernels::diff::diff(catalog.get(a)?, catalog.get(b)?)?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&d)?)?;
        return Ok(());
    }
    writeln!(out, "{b} against {a}:")?;
    writeln!(
        out,
        "drivers: {} lost, {} gained",
        d.drivers.lost.len(),
        d.drivers.gained.len()
    )?;
    for m in &d.drivers.lost {
        writeln!(out, "  - {m}")?;
    }
    for m in &d.drivers.gained {
        writeln!(out, "  + {m}")?;
    }
    writeln!(
        out,
        "device ids: {} lost, {} gained",
        d.device_ids.lost.len(),
        d.device_ids.gained.len()
    )?;
    for (bus, (lost, gained)) in &d.device_ids_by_bus {
        writeln!(out, "  {bus}: -{lost} +{gained}")?;
    }
    for id in &d.device_ids.lost {
        writeln!(out, "  - {} ({})", id.pattern, id.drivers.join(","))?;
    }
    writeln!(
        out,
        "firmware files: {} lost, {} gained; drivers whose firmware is no longer shipped: {}",
        d.firmware_files.lost.len(),
        d.firmware_files.gained.len(),
        d.firmware_unmet.join(", ")
    )?;
    if d.partial_coverage {
        writeln!(out, "note: derived data covers pci and usb only")?;
    }
    Ok(())
}

pub(crate) fn build(data: &Path, out: &Path) -> anyhow::Result<()> {
    let bar = progress_bar(0);
    let catalog = build_shipped(data, &|done, total, id| {
        bar.set_length(total);
        bar.set_position(done);
        bar.set_message(id.to_owned());
    })?;
    bar.finish_and_clear();
    catalog.write_dir(out)?;
    list(&catalog, false)
}

/// `hcl-kernels derive` arguments.
#[derive(clap::Args)]
pub(crate) struct DeriveArgs {
    /// Kernel source: a directory, a linux-source-*.deb, a .dsc, or linux_*.orig.tar.xz and
    /// linux_*.debian.tar.xz (give --source twice).
    #[arg(long = "source", required = true)]
    source: Vec<PathBuf>,
    /// A complete kernel config (a distribution's config-<release>).
    #[arg(long, conflicts_with_all = ["qubes_config", "config_base"])]
    config: Option<PathBuf>,
    /// A directory with Qubes' config-base, config-qubes and (when there) config-rust.
    #[arg(long, conflicts_with = "config_base")]
    qubes_config: Option<PathBuf>,
    /// Qubes' config-base (with --config-qubes and, optionally, --config-rust).
    #[arg(long, requires = "config_qubes")]
    config_base: Option<PathBuf>,
    #[arg(long, requires = "config_base")]
    config_qubes: Option<PathBuf>,
    #[arg(long, requires = "config_base")]
    config_rust: Option<PathBuf>,
    /// Profile id.
    #[arg(long)]
    id: String,
    /// Directory to write `<id>.profile.zst` into.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Also write the compact data (alias lists, final config, provenance.json) here, as
    /// build-shipped reads it.
    #[arg(long)]
    data_out: Option<PathBuf>,
    /// Also write plain modules.alias and modules.builtin.alias here.
    #[arg(long)]
    aliases_out: Option<PathBuf>,
    /// Device table types to derive: `pci,usb` (the default), another list, or `all`.
    #[arg(long, default_value = "pci,usb")]
    buses: String,
    /// Unpacked trees and build directories.
    #[arg(long, env = "HCL_DERIVE_CACHE")]
    cache: Option<PathBuf>,
    /// Parallel compiler runs (default: the number of CPUs).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Compare with a real kernel's modules.alias (and modules.builtin.alias) in this
    /// directory and print how many lines are identical.
    #[arg(long)]
    compare_with: Option<PathBuf>,
    #[arg(long, default_value = "")]
    distro: String,
    #[arg(long, default_value = "")]
    release: String,
    #[arg(long, default_value = "")]
    kernel_version: String,
    #[arg(long, default_value = "")]
    package_version: String,
}

struct BarProgress(indicatif::ProgressBar);

impl BarProgress {
    /// A line above the bar; on a terminal-less run (CI, nohup) the bar is hidden, so the
    /// line goes to standard error.
    fn line(&self, text: String) {
        if self.0.is_hidden() {
            eprintln!("{text}");
        } else {
            self.0.println(text);
        }
    }
}

impl hcl_kernels::derive::Progress for BarProgress {
    fn stage(&self, name: &str, total: u64) {
        self.0.set_length(total);
        self.0.set_position(0);
        self.0.set_message(name.to_owned());
        let counted = if total > 0 {
            format!(" ({total})")
        } else {
            String::new()
        };
        self.line(format!(
            "{:>7.0} s  {name}{counted}",
            self.0.elapsed().as_secs_f64()
        ));
    }
    fn set(&self, done: u64) {
        self.0.set_position(done);
    }
    fn note(&self, line: &str) {
        self.line(format!("          {line}"));
    }
}

pub(crate) fn derive(a: &DeriveArgs) -> anyhow::Result<()> {
    use hcl_kernels::derive::{self as d, Buses, ConfigSpec, Request, SourceSpec};
    // The id names the file written into --out (an unchecked `../x` or `/abs` wrote outside).
    hcl_kernels::check_id(&a.id).context("--id")?;
    let source = SourceSpec::from_paths(&a.source)?;
    let config = match (&a.config, &a.qubes_config, &a.config_base, &a.config_qubes) {
        (Some(c), None, None, None) => ConfigSpec::Plain(c.clone()),
        (None, Some(dir), None, None) => ConfigSpec::qubes_dir(dir)?,
        (None, None, Some(base), Some(qubes)) => ConfigSpec::Qubes {
            base: base.clone(),
            qubes: qubes.clone(),
            rust: a.config_rust.clone(),
        },
        _ => bail!("give --config FILE, --qubes-config DIR, or --config-base and --config-qubes"),
    };
    let buses = Buses::parse(&a.buses).map_err(anyhow::Error::msg)?;
    let cache = match &a.cache {
        Some(c) => c.clone(),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .context("no HOME: give --cache")?
            .join(".cache/hcl-probe/derive"),
    };
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let command = std::iter::once("hcl-kernels".to_owned())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let req = Request {
        source,
        config,
        buses: buses.clone(),
        cache,
        jobs,
        command,
    };
    let bar = progress_bar(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {msg} {bar:30} {pos}/{len} ({elapsed})")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(250));
    let started = std::time::Instant::now();
    let derived = d::derive(&req, &BarProgress(bar.clone()));
    bar.finish_and_clear();
    let derived = derived?;
    let p = &derived.provenance;
    println!(
        "derived Linux {} ({}) in {:.0} s: {} module aliases, {} built-in aliases recorded, {} built-in aliases a 6.18+ kernel would record; {} of {} objects compiled, {} failed",
        p.tree_version,
        p.buses,
        started.elapsed().as_secs_f64(),
        derived.aliases.len(),
        derived.builtin_aliases.len(),
        derived.builtin_unrecorded.len(),
        p.objects_compiled,
        p.objects_total,
        p.objects_failed.len()
    );
    for line in &p.config.not_applied {
        println!("config: {line}");
    }
    if let Some(dir) = &a.data_out {
        derived.write_dir(dir)?;
        println!("{}: data written", dir.display());
    }
    if let Some(dir) = &a.aliases_out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        d::write_alias_file(&dir.join("modules.alias"), &derived.aliases)?;
        let mut builtin = derived.builtin_aliases.clone();
        builtin.extend(derived.builtin_unrecorded.iter().cloned());
        d::write_alias_file(&dir.join("modules.builtin.alias"), &builtin)?;
        println!(
            "{}: modules.alias, modules.builtin.alias written",
            dir.display()
        );
    }
    let meta = ProfileMeta {
        id: a.id.clone(),
        distro: a.distro.clone(),
        release: a.release.clone(),
        kernel_version: a.kernel_version.clone(),
        package_version: a.package_version.clone(),
        provenance: derived.provenance_line(&a.id),
        data_date: p.date.clone(),
        firmware_source: "none (derived data has no firmware lists)".into(),
        ..Default::default()
    };
    let profile = derived.builder(meta).build();
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let path = a.out.join(format!("{}.profile.zst", a.id));
    hcl_kernels::fsio::write_replacing(&path, &profile.encode()?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("{}: profile written", path.display());
    if let Some(dir) = &a.compare_with {
        let read = |name: &str| -> anyhow::Result<Vec<(String, String)>> {
            let f = dir.join(name);
            if !f.exists() {
                return Ok(Vec::new());
            }
            let text =
                std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
            Ok(import::parse_alias_lines(&text, &f.display().to_string())?)
        };
        let modules = d::compare(&derived.aliases, &read("modules.alias")?, &buses);
        println!(
            "modules.alias ({} lines): {} of {} real lines identical; {} only in the real kernel, {} only derived",
            buses,
            modules.same,
            modules.real_total,
            modules.only_real.len(),
            modules.only_derived.len()
        );
        for l in &modules.only_real {
            println!("  only real:    {l}");
        }
        for l in &modules.only_derived {
            println!("  only derived: {l}");
        }
        let real_builtin = read("modules.builtin.alias")?;
        let builtin = d::compare(&derived.builtin_aliases, &real_builtin, &buses);
        println!(
            "modules.builtin.alias ({} lines): {} of {} real lines identical; {} only in the real kernel, {} only derived",
            buses,
            builtin.same,
            builtin.real_total,
            builtin.only_real.len(),
            builtin.only_derived.len()
        );
        for l in builtin
            .only_real
            .iter()
            .chain(&builtin.only_derived)
            .take(40)
        {
            println!("  differs: {l}");
        }
    }
    Ok(())
}
