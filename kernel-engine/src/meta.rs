//! What a profile says about itself: which kernel, where its data came from, what it holds.

/// How many of each thing a profile holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProfileCounts {
    pub modules: usize,
    pub builtin_modules: usize,
    pub aliases: usize,
    pub builtin_aliases: usize,
    pub inferred_aliases: usize,
    pub firmware_files: usize,
    pub rhel_rules: usize,
    pub extra_modules: usize,
    /// Binding-condition records ([`crate::conditions`]).
    #[serde(default)]
    pub conditions: usize,
}

/// Descriptive data of a profile.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ProfileMeta {
    pub id: String,
    pub distro: String,
    pub release: String,
    pub kernel_version: String,
    pub package_version: String,
    pub end_of_support: Option<String>,
    pub provenance: String,
    /// Buses the alias data covers (`pci`, `usb`); empty means every bus.
    #[serde(default)]
    pub covered_buses: Vec<String>,
    /// True when the profile has the distro's firmware file list.
    #[serde(default)]
    pub has_firmware_list: bool,
    /// Where the firmware list came from.
    #[serde(default)]
    pub firmware_source: String,
    /// True when the data is real kernel output (false: derived by compiling device tables).
    #[serde(default)]
    pub real_data: bool,
    /// True when the kernel records built-in device-table aliases (about 6.18 and later).
    #[serde(default)]
    pub records_builtin_aliases: bool,
    /// Day the source data was collected (`YYYY-MM-DD`).
    #[serde(default)]
    pub data_date: String,
    /// Where the binding conditions ([`crate::conditions`]) were read from; empty when this
    /// kernel's source is not known here (they are then unknown, not absent).
    #[serde(default)]
    pub conditions_source: String,
    #[serde(default)]
    pub counts: ProfileCounts,
}
