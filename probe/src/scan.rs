//! One scan: enumerate, name, classify, match against every candidate kernel, summarise.

use hcl_data::modalias::{HidIds, Modalias};
use hcl_data::{Day, KernelSummary, Origin, Report, SCHEMA_VERSION};
use hcl_kernel_engine::{AliasFilter, Catalog, PendingCatalog};

use crate::error::{Error, Warning};
use crate::ids::{IdDb, Kind};
use crate::root::Root;
use crate::{acpi, coverage, facts, iommu, passthrough, scsi, suspend, sysfs, xen};

/// A report and what could not be read while making it.
#[derive(Debug)]
pub struct Scan {
    pub report: Report,
    pub warnings: Vec<Warning>,
}

/// What a scan knows before any kernel profile is needed: facts and named, classified devices.
#[derive(Debug)]
pub struct Machine {
    system: hcl_data::System,
    found: Vec<sysfs::Found>,
}

impl Machine {
    /// The modaliases [`match_kernels`] will look up: profiles decoded with this filter give
    /// the same report while decoding only the aliases that could match this machine.
    pub fn alias_filter(&self) -> AliasFilter {
        AliasFilter::new(self.found.iter().filter_map(coverage::lookup_key))
    }
}

/// Scan the machine under `root` against every profile of `catalog`.
pub fn scan(root: &Root, catalog: &Catalog) -> Result<Scan, Error> {
    let machine = read_machine(root)?;
    Ok(match_kernels(root, machine, catalog))
}

/// [`scan`] with profiles still being decompressed (`Catalog::start_embedded`): the sysfs walk
/// overlaps the decompression, and only the aliases this machine's devices can match are
/// parsed. Also returns that catalog, which answers only for this machine's devices: a caller
/// about to exit may leak it rather than free it.
pub fn scan_pending(root: &Root, pending: PendingCatalog) -> Result<(Scan, Catalog), Error> {
    let machine = read_machine(root)?;
    let catalog = pending.finish(Some(&machine.alias_filter()))?;
    Ok((match_kernels(root, machine, &catalog), catalog))
}

/// The first half of a scan, which needs no profiles: callers can decompress the profiles
/// meanwhile (`Catalog::start_embedded`) and then decode only what this machine needs
/// ([`Machine::alias_filter`]).
pub fn read_machine(root: &Root) -> Result<Machine, Error> {
    if !root.base().is_dir() {
        return Err(Error::NotARoot(root.base().to_path_buf()));
    }
    let acpi = acpi::Acpi::read(root);
    let mut system = facts::read_system(root);
    let xen = xen::detect(root, &acpi);
    iommu::apply(root, &acpi, xen.as_ref(), &mut system);
    system.suspend = Some(suspend::read(root, &acpi));
    if let Some(xen) = xen {
        xen::apply(root, xen, &mut system);
    }
    let mut found = sysfs::enumerate(root);
    name_devices(root, &mut found);
    scsi::name(root, &mut found);
    hcl_data::classify::classify_all(&mut found);
    passthrough::apply(root, &acpi, &system, &mut found);
    Ok(Machine { system, found })
}

/// The second half: coverage by every profile of `catalog`, and the report.
pub fn match_kernels(root: &Root, machine: Machine, catalog: &Catalog) -> Scan {
    let Machine { system, found } = machine;
    let devices = coverage::apply(catalog, found);
    let ids: Vec<String> = catalog
        .profiles()
        .iter()
        .map(|p| p.meta.id.clone())
        .collect();
    if ids.is_empty() {
        root.warn(
            "kernel profiles",
            "none embedded: no coverage can be computed",
        );
    }
    let kernels = KernelSummary::per_kernel(&devices, &ids);
    let report = Report {
        schema_version: SCHEMA_VERSION,
        report_id: random_id(),
        generated_on: Day::today(),
        generator: format!("hcl-probe {}", env!("CARGO_PKG_VERSION")),
        origin: Origin::Probe,
        system,
        devices,
        kernels,
        qubes: None,
    };
    Scan {
        report,
        warnings: root.take_warnings(),
    }
}

/// Vendor and device names, loading each id database only when a device needs it.
fn name_devices(root: &Root, found: &mut [sysfs::Found]) {
    let mut pci: Option<IdDb> = None;
    let mut usb: Option<IdDb> = None;
    for f in found.iter_mut() {
        let d = &mut f.device;
        let db = match d.bus.as_str() {
            "pci" => pci.get_or_insert_with(|| IdDb::load(root, Kind::Pci)),
            "usb" => usb.get_or_insert_with(|| IdDb::load(root, Kind::Usb)),
            "hid" if hid_bus(&d.modalias) == Some(HidIds::USB) => {
                usb.get_or_insert_with(|| IdDb::load(root, Kind::Usb))
            }
            _ => continue,
        };
        if let Some(v) = d.vendor.as_deref() {
            d.vendor_name = db.vendor(v);
            if let Some(p) = d.device.as_deref() {
                d.device_name = db.device(v, p);
            }
        }
    }
}

fn hid_bus(modalias: &str) -> Option<u16> {
    Modalias::parse(modalias).ok()?.hid()?.bus
}

/// 128 random bits, hex: says nothing about the machine.
///
/// Read from /dev/urandom, which never blocks: `getrandom(2)` (what `rand` uses) blocks until
/// the kernel's pool is initialised, which on a freshly booted live system or VM without an
/// entropy source can take minutes (regression: the QEMU fixture capture hung there).
fn random_id() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let urandom = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if urandom.is_err() {
        bytes = rand::random();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random() {
        let a = random_id();
        assert_eq!(a.len(), 32);
        assert_ne!(a, random_id());
    }
}
