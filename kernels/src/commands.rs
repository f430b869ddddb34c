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
    for p in catalog.profiles() {
        let m = &p.meta;
        if json {
            writeln!(out, "{}", serde_json::to_string(m)?)?;
            continue;
        }
        let c = &m.counts;
        writeln!(
            out,
            "{:<20} {:<28} modules {:>5} built-in {:>4} aliases {:>6}+{:>5} inferred {:>5} firmware files {:>5}{}",
            m.id,
            m.kernel_version,
            c.modules,
            c.builtin_modules,
            c.aliases,
            c.builtin_aliases,
            c.inferred_aliases,
            c.firmware_files,
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
    std::fs::write(&path, profile.encode()?)
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
    let bar = progress_bar(8);
    let catalog = build_shipped(data, &|done, total, id| {
        bar.set_length(total);
        bar.set_position(done);
        bar.set_message(id.to_owned());
    })?;
    bar.finish_and_clear();
    catalog.write_dir(out)?;
    list(&catalog, false)
}
