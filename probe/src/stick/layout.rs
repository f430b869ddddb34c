//! What the stick holds and where: partition names, the plan written at build time, the
//! per-kernel module index, the run records the init writes. Shared by the builder, the init and
//! the results reader, so the three agree by construction.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// GPT name of the EFI system partition (loader, kernels, initramfs images).
pub const BOOT_PARTITION: &str = "HCL-PROBE-BOOT";
/// GPT name of the partition the init writes its runs to (FAT, readable anywhere).
pub const RESULTS_PARTITION: &str = "HCL-PROBE-RESULTS";
/// Format of [`Plan`] and [`RunRecord`]; a reader refuses newer ones.
pub const FORMAT: u32 = 1;
/// Where the plan lies inside each initramfs, and at the root of both partitions.
pub const PLAN_FILE: &str = "hcl/stick.json";
/// Where the module index lies inside each initramfs.
pub const MODULE_INDEX_FILE: &str = "hcl/modules.json";
/// Folder of the kernel's own profile inside each initramfs.
pub const PROFILE_DIR: &str = "hcl/profile";
/// Folder of systemd-boot's entries on the boot partition.
pub const ENTRIES_DIR: &str = "loader/entries";
/// Folder of the runs on the results partition: `runs/s0001/entry-01.json`.
pub const RUNS_DIR: &str = "runs";
/// Marker a session's folder gets when every kernel of the plan has been tried.
pub const COMPLETE_MARKER: &str = "complete";

/// What the builder decided; read by every init and by `stick results`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    /// The stick's GPT disk GUID (random per image): the init writes only to the disk that has
    /// it. Never copied into a report.
    pub disk_guid: String,
    pub boot_partition_guid: String,
    pub results_partition_guid: String,
    /// In boot order.
    pub kernels: Vec<PlannedKernel>,
    /// The entry whose initramfs this copy of the plan is in (0 on the partitions).
    #[serde(default)]
    pub this_entry: u32,
    /// Seconds without a new device before the buses count as settled.
    pub settle_secs: u32,
    /// Seconds after which the init gives up on its kernel and moves on.
    pub deadline_secs: u32,
}

impl Plan {
    pub fn kernel(&self, entry: u32) -> Option<&PlannedKernel> {
        self.kernels.iter().find(|k| k.entry == entry)
    }
}

/// One kernel on the stick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedKernel {
    /// 1-based boot order; the loader entry is `hcl-NN`.
    pub entry: u32,
    /// Kernel release (`6.1.0-50-amd64`).
    pub release: String,
    /// Id of the profile imported from the kernel's packages (the prediction).
    pub profile_id: String,
    /// Packages it came from, `name version`.
    pub packages: Vec<String>,
}

/// The loader entry name of a kernel (without the boot counter): `hcl-01`.
pub fn entry_name(entry: u32) -> String {
    format!("hcl-{entry:02}")
}

/// A loader entry file name's kernel number and boot-counter tries left: `hcl-02+0-1.conf`
/// gives `(2, Some(0))`, `hcl-02+1.conf` `(2, Some(1))`, `hcl-02.conf` `(2, None)`.
pub fn parse_entry_file(name: &str) -> Option<(u32, Option<u32>)> {
    let stem = name.strip_suffix(".conf")?.strip_prefix("hcl-")?;
    let (number, counter) = match stem.split_once('+') {
        Some((n, c)) => (n, Some(c)),
        None => (stem, None),
    };
    let entry = number.parse().ok()?;
    let tries = match counter {
        Some(c) => Some(c.split('-').next()?.parse().ok()?),
        None => None,
    };
    Some((entry, tries))
}

/// The modules one kernel's initramfs carries, as the init needs them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleIndex {
    pub release: String,
    /// Module files are compressed and the kernel decompresses them itself
    /// (`CONFIG_MODULE_DECOMPRESS`): load with `MODULE_INIT_COMPRESSED_FILE`.
    pub kernel_decompresses: bool,
    pub modules: BTreeMap<String, IndexedModule>,
}

/// One module file of the initramfs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedModule {
    /// Below `lib/modules/<release>/`.
    pub path: String,
    /// `depends=`: loaded first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends: Vec<String>,
    /// `softdep=` `pre:`: loaded first when present.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub softdep_pre: Vec<String>,
}

/// What happened to one kernel of one session, as stored on the results partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub format: u32,
    pub session: u32,
    pub entry: u32,
    pub release: String,
    pub outcome: Outcome,
    /// A sentence for people: why there is no report, or what went wrong on the way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timings: Option<Timings>,
    /// The report (observed beside predicted), when the kernel got that far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<hcl_data::Report>,
}

/// How a kernel's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The init ran, observed and wrote its report.
    Observed,
    /// The loader started the kernel but no report came back: it panicked, hung, was switched
    /// off, or could not find the stick (no USB controller it drives). Written by a later init.
    NoResult,
}

/// Where a kernel's time went, from its own clock (seconds since it started).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Kernel start to the init's first instruction.
    pub init_started_s: f64,
    /// Kernel start to the buses settling (every module loaded).
    pub settled_s: f64,
    /// Kernel start to the report being ready to write.
    pub report_ready_s: f64,
    pub modules_loaded: u32,
}

/// File name of a run record inside its session folder.
pub fn record_name(entry: u32) -> String {
    format!("entry-{entry:02}.json")
}

/// Folder name of a session.
pub fn session_dir(session: u32) -> String {
    format!("s{session:04}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_files() {
        assert_eq!(parse_entry_file("hcl-02+0-1.conf"), Some((2, Some(0))));
        assert_eq!(parse_entry_file("hcl-01+1.conf"), Some((1, Some(1))));
        assert_eq!(parse_entry_file("hcl-03.conf"), Some((3, None)));
        assert_eq!(parse_entry_file("other.conf"), None);
        assert_eq!(parse_entry_file("hcl-x+1.conf"), None);
        assert_eq!(entry_name(7), "hcl-07");
    }
}
