//! Regeneration of every shipped profile ([`hcl_kernel_engine::SHIPPED`]) from the repository's `data/`.

use std::path::Path;

use crate::builder::{ProfileBuilder, infer_builtins, series};
use crate::error::Error;
use crate::import;
use hcl_kernel_engine::Catalog;
use hcl_kernel_engine::ProfileMeta;
use hcl_kernel_engine::profile::model::FirmwareList;
use hcl_kernel_engine::{SHIPPED, Shipped};

/// Day the kernel data was collected, from its README (`Collected YYYY-MM-DD.`).
fn data_date(kernel_data: &Path) -> String {
    std::fs::read_to_string(kernel_data.join("README.md"))
        .ok()
        .and_then(|t| {
            let i = t.find("Collected ")? + "Collected ".len();
            t.get(i..i + 10).map(str::to_owned)
        })
        .unwrap_or_default()
}

fn first_dir(parent: &Path, prefix: &str) -> Result<std::path::PathBuf, Error> {
    let mut found: Vec<_> = std::fs::read_dir(parent)
        .map_err(|e| Error::io(parent, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    found.sort();
    found.into_iter().next().ok_or_else(|| {
        Error::bad(
            parent.display(),
            format!("no folder starting with {prefix}"),
        )
    })
}

/// Package version from a Debian folder name (`debian-trixie-backports-7.3.4-1_bpo13+1` ->
/// `7.3.4-1~bpo13+1`).
fn debian_package_version(folder: &str, prefix: &str) -> String {
    let v = folder.strip_prefix(prefix).unwrap_or(folder);
    let v = if prefix.ends_with('6') {
        format!("6{v}")
    } else {
        v.to_owned()
    };
    v.replace("_bpo", "~bpo")
}

/// The folder a shipped profile is made from: the first under `kernel-data/` whose path starts
/// with its `source`.
fn source_dir(kd: &Path, spec: &Shipped) -> Result<(std::path::PathBuf, String), Error> {
    let (parent, prefix) = match spec.source.rsplit_once('/') {
        Some((parent, prefix)) => (kd.join(parent), prefix),
        None => (kd.to_path_buf(), spec.source),
    };
    let dir = first_dir(&parent, prefix)?;
    let folder = dir
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    Ok((dir, folder))
}

/// The metadata every shipped profile takes from its [`Shipped`] entry.
fn shipped_meta(spec: &Shipped, date: &str) -> ProfileMeta {
    ProfileMeta {
        id: spec.id.into(),
        distro: spec.distro.into(),
        release: spec.release.into(),
        end_of_support: spec.end_of_support.map(str::to_owned),
        data_date: date.to_owned(),
        ..Default::default()
    }
}

/// Regenerate every shipped profile from `data`, the repository's `data/` (kernel-data/, Debian
/// firmware lists in `debian-contents/`, binding conditions from `kernel-source/` and `chips/`).
/// `progress(done, total, id)` is called per profile.
pub fn build_shipped(data: &Path, progress: &dyn Fn(u64, u64, &str)) -> Result<Catalog, Error> {
    let kd = data.join("kernel-data");
    let date = data_date(&kd);
    let total = SHIPPED.len() as u64;
    // Module paths for def_variants rules: RHEL 10 is a 6.12 kernel; Debian 6.12's layout of
    // kernel/ is the closest public map from module name to path.
    let debian_612_paths = module_paths(&import::required(
        &first_dir(&kd, "debian-trixie-6")?,
        "modules.dep",
    )?)?;
    let mut builders: Vec<ProfileBuilder> = Vec::new();
    for (i, spec) in SHIPPED.iter().enumerate() {
        progress(i as u64, total, spec.id);
        let (dir, folder) = source_dir(&kd, spec)?;
        let meta = shipped_meta(spec, &date);
        let b = match spec.distro {
            "debian" => debian(data, spec, &dir, &folder, meta)?,
            "rhel" => rhel(&kd, spec, &dir, &folder, meta, &debian_612_paths)?,
            _ => qubes(&dir, meta)?,
        };
        builders.push(b);
    }

    // Inference needs every builder's recorded aliases; do it on a snapshot.
    let snapshot = builders.clone();
    let refs: Vec<&ProfileBuilder> = snapshot.iter().collect();
    for b in builders.iter_mut().filter(|b| b.meta.real_data) {
        if !b.meta.records_builtin_aliases {
            infer_builtins(b, &refs);
        }
    }
    // Binding conditions from each kernel's source, where it is known.
    let inputs = crate::conditions::ConditionInputs::load(data)?;
    let mut profiles = Vec::new();
    for p in builders.into_iter().map(ProfileBuilder::build) {
        profiles.push(match crate::conditions::source_version(&p.meta.id) {
            Some(version) => {
                let (records, source) = crate::conditions::derive(&p, version, &inputs)?;
                p.with_conditions(records, source)
            }
            None => p,
        });
    }
    progress(total, total, "done");
    Ok(Catalog::from_profiles(profiles))
}

/// A Debian kernel: depmod output and package files, firmware from the suite's DEP-11 metadata
/// (and, for trixie, its full firmware file list).
fn debian(
    data: &Path,
    spec: &Shipped,
    dir: &Path,
    folder: &str,
    mut meta: ProfileMeta,
) -> Result<ProfileBuilder, Error> {
    meta.package_version = debian_package_version(folder, spec.source);
    meta.real_data = true;
    let mut b = import::import_debian_dir(dir, meta)?;
    b.meta.records_builtin_aliases =
        series(&b.meta.kernel_version).is_some_and(|s| s >= series("6.18").unwrap_or(618));
    let suites = crate::firmware::debian_firmware_suites(spec.id)
        .ok_or_else(|| Error::bad(spec.id, "no firmware suites for this Debian profile"))?;
    let contents = data.join("debian-contents");
    let mut pairs = Vec::new();
    for suite in suites {
        pairs.extend(crate::firmware::read_contents_extract(&contents, suite)?);
    }
    b.meta.firmware_source = format!(
        "{}: every file and symlink under /lib/firmware and /usr/lib/firmware in the \
         archive's Contents indices (all components; see its SOURCE.txt)",
        suites
            .iter()
            .map(|s| format!("debian-contents/{s}.tsv.zst"))
            .collect::<Vec<_>>()
            .join(" + ")
    );
    b.firmware = Some(FirmwareList::from_pairs(pairs));
    Ok(b)
}

/// A RHEL kernel: pci/usb aliases derived from the AlmaLinux source, hardware status and the
/// modules of the optional kernel-modules-extra package.
fn rhel(
    kd: &Path,
    spec: &Shipped,
    dir: &Path,
    folder: &str,
    mut meta: ProfileMeta,
    debian_612_paths: &[(String, String)],
) -> Result<ProfileBuilder, Error> {
    let prefix = spec.source.rsplit('/').next().unwrap_or(spec.source);
    let kernel = folder.trim_start_matches(prefix).to_owned();
    meta.kernel_version = kernel.clone();
    meta.package_version = format!("kernel-{kernel}");
    meta.provenance = format!(
        "rhel-derived-aliases/{folder}: pci/usb aliases derived from the AlmaLinux source \
         with the RHEL config; rhel-almalinux/{folder}: hardware status, module packages"
    );
    meta.firmware_source = "none (derived data has no firmware lists)".into();
    let mut b = import::import_derived_dir(dir, meta)?;
    let alma = kd.join("rhel-almalinux").join(folder);
    b.rhel = import::read_rhel_status(&import::required(&alma, "rh-hardware-status.tsv")?)?;
    let mut extra: Vec<String> = Vec::new();
    for list in ["mod-extra.list", "mod-extra.list.rhel"] {
        if let Some(p) = import::data_file(&alma, list) {
            extra.extend(import::read_mod_extra(&p)?);
        }
    }
    if let Some(variants) = import::data_file(&alma, "def_variants.yaml.rhel") {
        let rules = import::parse_def_variants(&import::read_text(&variants)?)?;
        for (name, path) in debian_612_paths {
            let rel = path.strip_prefix("kernel/").unwrap_or(path);
            if import::def_variants_package(&rules, rel) == Some("modules-extra") {
                extra.push(name.clone());
            }
        }
    }
    for name in extra {
        if let Some(m) = b.modules.get_mut(&name) {
            m.extra = true;
        }
    }
    Ok(b)
}

/// Qubes' dom0 kernel: pci/usb aliases derived from the source with the Qubes config.
fn qubes(dir: &Path, mut meta: ProfileMeta) -> Result<ProfileBuilder, Error> {
    meta.kernel_version = "6.12.103".into();
    meta.package_version = "kernel-6.12.103-1".into();
    meta.provenance = "qubes-derived/qubes-6.12: pci/usb aliases derived from Debian's 6.12.117 \
                       source with the Qubes dom0 config (see its SOURCE.txt)"
        .into();
    meta.firmware_source = "none (derived data has no firmware lists)".into();
    import::import_derived_dir(dir, meta)
}

/// Module name -> path from a modules.dep.
fn module_paths(dep: &Path) -> Result<Vec<(String, String)>, Error> {
    let text = import::read_text(dep)?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter_map(|(p, _)| Some((import::module_name_from_path(p)?, p.to_owned())))
        .collect())
}
