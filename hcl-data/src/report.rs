//! The report, schema version 2.
//!
//! Version 2 (this one) added, all optional so that version 1 reads unchanged: per PCI device
//! `passthrough` ([`Passthrough`]), per device `observed` ([`Observed`], the observation
//! stick), `system.suspend`, `system.xen`, the IOMMU facts `system.iommu_present`,
//! `iommu_enabled`, `interrupt_remapping_supported` and `bios_version`, and the coverage
//! verdicts `needs_parameter` and `unknown_chip` (binding conditions). A version-2 report may
//! hold any of them; a version-1 reader refuses it by its number instead of misreading a
//! verdict it does not know. Version 1 reports are read as they are and keep their version
//! (and so their content id): probes built while these fields were being added wrote some of
//! them under version 1, and they read the same.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::closed::closed_set;
use crate::day::Day;
use crate::kernel_summary::KernelSummary;
use crate::readiness::{Passthrough, Suspend, XenInfo};
use crate::rhel::RhelStatus;
use crate::verdict::{Role, Tri, Verdict};

/// The schema version this crate writes. Readers accept versions 1 up to this one.
pub const SCHEMA_VERSION: u32 = 2;

/// The version an imported Qubes HCL file is written in. An import holds none of version 2's
/// fields, and the version is part of a report's content id: written as version 1, the same
/// HCL file imported into a database filled before the bump is "already stored", not a second
/// copy of the machine.
pub const HCL_IMPORT_SCHEMA_VERSION: u32 = 1;

/// One machine's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    /// Random id chosen when the report is made; says nothing about the machine.
    pub report_id: String,
    /// Day the report was made, `YYYY-MM-DD` (a day, not a time: less to fingerprint).
    pub generated_on: Day,
    /// Who made it: `hcl-probe 0.1.0`, or `qubes-hcl import` for imported HCL files.
    pub generator: String,
    /// Where the report came from.
    #[serde(default)]
    pub origin: Origin,
    pub system: System,
    #[serde(default)]
    pub devices: Vec<Device>,
    /// Per candidate kernel, a one-line summary (same keys as [`Device::coverage`]).
    #[serde(default)]
    pub kernels: BTreeMap<String, KernelSummary>,
    /// What the person said about Qubes on this machine (HCL reports carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qubes: Option<QubesInfo>,
}

/// Where a report came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `hcl-probe scan` on a live machine or a captured tree.
    #[default]
    Probe,
    /// Imported from a Qubes HCL YAML file: identifiers are partial (vendor:device only).
    QubesHcl,
}

/// The facts the Qubes HCL records, found without Xen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct System {
    /// laptop, desktop, server, ... from the DMI chassis type.
    #[serde(default)]
    pub machine_type: Option<String>,
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// BIOS vendor, version and date as one string.
    #[serde(default)]
    pub bios: Option<String>,
    /// The BIOS version alone, as the Qubes HCL's `bios` holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bios_version: Option<String>,
    #[serde(default)]
    pub cpu: Option<String>,
    /// `vt-x`, `amd-v` or None.
    #[serde(default)]
    pub virtualization: Option<String>,
    #[serde(default)]
    pub hvm: Tri,
    /// EPT (Intel) or NPT (AMD).
    #[serde(default)]
    pub slat: Tri,
    /// The IOMMU as the Qubes HCL means it: enabled (see [`crate::hcl_iommu`]). Reports made
    /// before `iommu_present` existed said yes for a DMAR/IVRS table.
    #[serde(default)]
    pub iommu: Tri,
    /// Interrupt remapping in use (its state, not the hardware's capability).
    #[serde(default)]
    pub interrupt_remapping: Tri,
    /// The firmware describes an IOMMU: a DMAR or IVRS ACPI table (XMAR under Xen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iommu_present: Option<Tri>,
    /// The running kernel translates DMA through it (IOMMU units or groups in sysfs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iommu_enabled: Option<Tri>,
    /// The hardware and firmware can remap interrupts (VT-d ECAP.IR with the DMAR table's
    /// opt-in, or AMD-Vi), whether or not it is in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupt_remapping_supported: Option<Tri>,
    /// TPM spec version (`2.0`, `1.2`), None when no TPM was found.
    #[serde(default)]
    pub tpm: Option<String>,
    #[serde(default)]
    pub memory_mib: Option<u64>,
    #[serde(default)]
    pub boot_mode: Option<BootMode>,
    #[serde(default)]
    pub secure_boot: Tri,
    #[serde(default)]
    pub running_kernel: Option<String>,
    #[serde(default)]
    pub distro: Option<String>,
    /// Suspend to RAM as the firmware and kernel offer it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<Suspend>,
    /// Set when the probe ran under Xen (a Qubes dom0 or a VM): which facts it could not see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xen: Option<XenInfo>,
    /// HCL's chipset, GPU and network lines when imported from a Qubes HCL file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hcl_text: Option<HclText>,
}

/// The one-line text fields of [`System`], by name: validation bounds each to
/// [`crate::validate::MAX_SHORT`] bytes, and the probe cuts what a machine hands over to fit.
/// One list for both, so a new field cannot be checked in one place and missed in the other.
macro_rules! short_fields {
    ($($name:ident),* $(,)?) => {
        impl System {
            /// The one-line text fields, by name.
            pub fn short_fields(&self) -> [(&'static str, &Option<String>); short_fields!(@count $($name)*)] {
                [$((stringify!($name), &self.$name)),*]
            }

            /// [`System::short_fields`], to change them.
            pub fn short_fields_mut(&mut self) -> [(&'static str, &mut Option<String>); short_fields!(@count $($name)*)] {
                [$((stringify!($name), &mut self.$name)),*]
            }
        }
    };
    (@count $($name:ident)*) => { 0 $(+ { let _ = stringify!($name); 1 })* };
}

short_fields!(
    machine_type,
    brand,
    model,
    bios,
    bios_version,
    cpu,
    virtualization,
    tpm,
    running_kernel,
    distro,
);

/// Free-text lines of a Qubes HCL report, kept for display.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HclText {
    #[serde(default)]
    pub chipset: Option<String>,
    #[serde(default)]
    pub gpu: Option<String>,
    #[serde(default)]
    pub network: Option<String>,
    #[serde(default)]
    pub cpu_short: Option<String>,
    #[serde(default)]
    pub chipset_short: Option<String>,
    #[serde(default)]
    pub gpu_short: Option<String>,
    /// The HCL's `scsi:` lines (disk models and firmware revisions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scsi: Option<String>,
    /// The HCL's `usb:` value (number of USB controllers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usb: Option<String>,
    /// The HCL's yes/no/partial fields as written (`hvm`, `iommu`, `slat`, `tpm`, `remap`),
    /// keeping what [`Tri`] cannot say: `partial` and the display override message.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub statuses: BTreeMap<String, HclStatus>,
}

/// One yes/no/partial field of a Qubes HCL report, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HclStatus {
    /// `yes`, `no`, `partial`, `unknown`, or what the person wrote (`2.0` for a TPM).
    pub status: String,
    /// The text the HCL page shows instead of the status, when the file overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

closed_set! {
    /// How the machine booted.
    pub enum BootMode or Other {
        Uefi = "uefi",
        Legacy = "legacy",
    }
}

closed_set! {
    /// What a USB row is: a device (which summarises its interfaces) or an interface.
    pub enum UsbKind or Other {
        Device = "device",
        Interface = "interface",
    }
}

impl UsbKind {
    pub fn is_device(&self) -> bool {
        *self == UsbKind::Device
    }

    pub fn is_interface(&self) -> bool {
        *self == UsbKind::Interface
    }
}

impl Default for UsbKind {
    fn default() -> Self {
        UsbKind::Other(String::new())
    }
}

/// One device with a modalias.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// Bus from the modalias prefix: `pci`, `usb`, `hid`, `acpi`, `platform`, `virtio`, ...
    pub bus: String,
    /// The modalias as the kernel shows it. With partial identifiers every unknown character is
    /// `?` (fixed-width hex fields), e.g. `pci:v00008086d000024F3sv????????sd????????bc??sc??i??`.
    pub modalias: String,
    /// Path under /sys/devices (topology only, no identifiers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysfs_path: Option<String>,
    /// True when only part of the identifiers is known (Qubes HCL lines: vendor:device).
    #[serde(default)]
    pub partial: bool,
    /// `gpu`, `storage`, `network`, `wifi`, `usb-controller`, `input`, `audio`, `bridge`, ...
    #[serde(default)]
    pub category: Category,
    #[serde(default)]
    pub role: Role,
    /// Vendor id, hex without prefix (`8086`).
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub subvendor: Option<String>,
    #[serde(default)]
    pub subdevice: Option<String>,
    /// Class code, hex (`030000` for PCI; `ff` style for USB).
    #[serde(default)]
    pub class: Option<String>,
    #[serde(default)]
    pub revision: Option<String>,
    #[serde(default)]
    pub vendor_name: Option<String>,
    #[serde(default)]
    pub device_name: Option<String>,
    /// Driver bound now, or None.
    #[serde(default)]
    pub driver: Option<String>,
    /// True when the bound driver is in no candidate kernel (nvidia, vendor modules).
    #[serde(default)]
    pub out_of_tree_driver: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iommu_group: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usb: Option<UsbInfo>,
    /// PCI devices: whether and how it can be handed to a VM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passthrough: Option<Passthrough>,
    /// Keyed by kernel profile id.
    #[serde(default)]
    pub coverage: BTreeMap<String, Coverage>,
    /// What the booted kernel really did with the device (reports of the observation stick,
    /// `hcl-probe stick`); None in a scan, which only predicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<Observed>,
}

/// What a kernel booted from the observation stick did with one device: parsed fields only,
/// never log lines (they carry MAC addresses and serial numbers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// Modules the device's modalias resolved to in the booted kernel that loaded (its own
    /// data, kmod's order), as kmod spells them.
    #[serde(default)]
    pub modules: Vec<String>,
    /// The module behind the driver that bound (`driver/module`); None when the driver is
    /// built in or none bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_module: Option<String>,
    /// ACPI devices: the driver bound to the device the ACPI node describes (`physical_node`),
    /// which is where drivers matched by an ACPI id bind (i8042, 8250, rtc_cmos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub companion_driver: Option<String>,
    /// Firmware files the kernel asked for on the device's behalf and could not load.
    #[serde(default)]
    pub firmware_failed: Vec<String>,
    /// Probe and module load failures.
    #[serde(default)]
    pub errors: Vec<ObservedError>,
    /// The driver that bound (or the companion's) was registered before the init loaded any
    /// module: it is built into the kernel.
    #[serde(default, skip_serializing_if = "is_false")]
    pub driver_builtin: bool,
    /// Of `modules`, those that registered no driver on any bus while they loaded (the drivers
    /// in sysfs before and after): loaded by an alias of the device, they bind to nothing by
    /// design (efi_pstore, a pstore back end loaded for `platform:efivars`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules_without_driver: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One failure seen while the booted kernel set a device up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedError {
    pub kind: ObservedErrorKind,
    /// The driver whose probe failed, or the module that did not load.
    pub driver: String,
    /// The kernel's error number, negative as the kernel prints it (`-110`).
    pub errno: i32,
}

/// What failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservedErrorKind {
    /// `probe of DEVICE failed with error N`: the driver matched and gave up.
    Probe,
    /// The module itself did not load (`finit_module` failed).
    ModuleLoad,
}

/// USB details of a USB device or interface.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsbInfo {
    pub kind: UsbKind,
    #[serde(default)]
    pub bcd_device: Option<String>,
    #[serde(default)]
    pub speed: Option<String>,
    #[serde(default)]
    pub interface_number: Option<String>,
    #[serde(default)]
    pub interface_class: Option<String>,
}

/// What one kernel does for one device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Loadable modules whose alias matches (kmod's answer).
    #[serde(default)]
    pub modules: Vec<String>,
    /// Built-in drivers whose recorded alias matches.
    #[serde(default)]
    pub builtin: Vec<String>,
    /// Built-in drivers that match by the aliases the same module has elsewhere: beyond kmod,
    /// which cannot see them on kernels before about 6.18.
    #[serde(default)]
    pub inferred_builtin: Vec<String>,
    /// Firmware files the matching modules ask for. In a probe report only the files the distro
    /// does not ship are listed (amdgpu alone asks for over 600); the counts below keep the rest.
    #[serde(default)]
    pub firmware: Vec<FirmwareNeed>,
    /// How many firmware files the matching modules ask for in all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub firmware_declared: u32,
    /// How many of those the distro's firmware packages ship; None when it has no list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_shipped: Option<u32>,
    /// RHEL hardware status when the distro has one for this device or driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rhel_status: Option<RhelStatus>,
    /// Modules that only ship in an optional package (RHEL kernel-modules-extra).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_package: Vec<String>,
    pub verdict: Verdict,
    /// One sentence a person can read.
    #[serde(default)]
    pub reason: String,
    /// The identifiers were partial: a pattern matched when some value of the unknown fields
    /// would.
    #[serde(default)]
    pub partial: bool,
    /// Partial identifiers whose unknown fields may change this verdict (a driver names the id
    /// only with some subsystem ids, or matches only for some values of an unknown class). False
    /// when the known fields decide it, and for full identifiers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub undecided: bool,
    /// What stands between a matching driver and this device on this kernel, read from the
    /// kernel's source beyond its aliases (force_probe, chips the driver does not know, the
    /// chip's own firmware). Empty when nothing does or the kernel's source is not known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<BindingCondition>,
    /// Set when every matching driver is one whose loss a user does not see (EDAC error
    /// reporting, AGP bridges): such a loss weighs zero. The list is hcl-kernels' `cost`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zero_weight: Option<ZeroWeight>,
}

/// A condition under which a driver whose alias matches binds the device, or does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingCondition {
    pub module: String,
    pub kind: BindingKind,
    /// What the kernel source names: the device-info entry (`mtl_info (METEORLAKE)`), the IP
    /// version (`GC 11.5.0`), the chipset (`AD102`), the Wi-Fi MAC family (`gl`).
    pub chip: String,
    /// [`BindingKind::ChipFirmwareMissing`]: the files the driver declares for this chip.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub firmware: Vec<String>,
}

/// The kinds of [`BindingCondition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BindingKind {
    /// The driver binds only with `<module>.force_probe=<device id>` (i915/xe
    /// `require_force_probe`): unsupported in this kernel, it taints it when forced.
    ForceProbe,
    /// The driver matches every device of its class but does not know this chip (amdgpu IP
    /// version, nouveau chipset) or declares no firmware for its family (iwlwifi): no driver.
    UnknownChip,
    /// The driver knows the chip, but none of the firmware files it declares for it ships.
    ChipFirmwareMissing,
}

/// Why losing a driver costs a user nothing visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZeroWeight {
    /// EDAC: memory error reporting; the machine works without it, most client chips have no
    /// ECC memory to report on.
    Edac,
    /// An AGP bridge: the GPU is driven without it (i915 uses intel-gtt, not AGP).
    AgpBridge,
}

/// A firmware file a matching module asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareNeed {
    pub module: String,
    pub file: String,
    /// Whether the distro's firmware packages ship it; None when the profile has no list.
    pub shipped: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

/// What a Qubes HCL report says about Qubes itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QubesInfo {
    #[serde(default)]
    pub versions: Vec<QubesVersion>,
    /// Original file name in the Qubes HCL repository.
    #[serde(default)]
    pub source_file: Option<String>,
}

/// One `versions:` entry of a Qubes HCL report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QubesVersion {
    #[serde(default)]
    pub qubes: Option<String>,
    #[serde(default)]
    pub works: Option<String>,
    #[serde(default)]
    pub xen: Option<String>,
    #[serde(default)]
    pub kernel: Option<String>,
    #[serde(default)]
    pub remark: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Coverage {
    /// What losing this device's drivers weighs in loss counts: 0 when they are all drivers a
    /// user does not miss ([`Coverage::zero_weight`]), else 1.
    pub fn loss_weight(&self) -> u32 {
        u32::from(self.zero_weight.is_none())
    }

    /// The firmware files this kernel's distro lacks for the device.
    pub fn missing_firmware(&self) -> impl Iterator<Item = &str> {
        self.firmware
            .iter()
            .filter(|f| f.shipped == Some(false))
            .map(|f| f.file.as_str())
    }

    /// The compact form a report carries: firmware reduced to the files the distro lacks, with
    /// the declared and shipped counts kept.
    pub fn compact_firmware(&mut self) {
        if self.firmware.is_empty() {
            return;
        }
        self.firmware_declared = u32::try_from(self.firmware.len()).unwrap_or(u32::MAX);
        self.firmware_shipped = if self.firmware.iter().any(|f| f.shipped.is_none()) {
            None
        } else {
            let n = self
                .firmware
                .iter()
                .filter(|f| f.shipped == Some(true))
                .count();
            Some(u32::try_from(n).unwrap_or(u32::MAX))
        };
        self.firmware.retain(|f| f.shipped == Some(false));
    }
}
