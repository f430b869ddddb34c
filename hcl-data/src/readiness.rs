//! Qubes readiness: whether a PCI device can be handed to a VM (passthrough), whether the
//! machine can suspend the way Qubes needs (S3), and what a Xen dom0 cannot see of the
//! hardware. The rules live here so that the probe and the aggregator apply the same ones.
//!
//! All of it is optional in the schema: reports made before it read as before.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::modalias::Modalias;
use crate::verdict::Tri;

/// How a PCI device can be handed to a VM. The first that applies, in this order.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PassthroughVerdict {
    /// No IOMMU information, or the reset methods cannot be known.
    #[default]
    Unknown,
    /// Conventional PCI behind a PCIe-to-PCI bridge, or named by a firmware RMRR shared with
    /// other devices: it cannot be isolated from other devices.
    NotIsolated,
    /// Other endpoint devices or functions share its IOMMU group: they go to one VM together.
    AssignWithGroup,
    /// No reset method: Qubes assigns it only with `no-strict-reset=True`.
    NoStrictReset,
    /// Alone in its IOMMU group, with a reset method.
    Ready,
}

impl PassthroughVerdict {
    /// Short text for tables and pages.
    pub const fn label(self) -> &'static str {
        match self {
            PassthroughVerdict::Unknown => "unknown",
            PassthroughVerdict::NotIsolated => "not isolated",
            PassthroughVerdict::AssignWithGroup => "assign with its group",
            PassthroughVerdict::NoStrictReset => "needs no-strict-reset",
            PassthroughVerdict::Ready => "ready",
        }
    }
}

/// Where a device's reset methods were read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetSource {
    /// The kernel's `reset_method` files (Linux 5.15+ and kernels that backported them).
    Kernel,
    /// The device's PCI configuration space (FLR, AF FLR, PM reset, bus reset).
    ConfigSpace,
    /// Neither could be read: the methods are not known.
    #[default]
    Unknown,
}

/// Passthrough readiness of one PCI device (`Device::passthrough`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Passthrough {
    /// Reset methods by their kernel names (`flr`, `af`, `pm`, `bus`, `device_specific`,
    /// `acpi`, `cxl_bus`); empty when there is none or when they are not known
    /// ([`Passthrough::reset_source`] says which).
    #[serde(default)]
    pub reset_methods: Vec<String>,
    #[serde(default)]
    pub reset_source: ResetSource,
    /// The other PCI addresses in its IOMMU group (`0000:00:14.2`), itself excluded; None when
    /// there is no IOMMU group information.
    #[serde(default)]
    pub group: Option<Vec<String>>,
    pub verdict: PassthroughVerdict,
    /// Why, in one or two sentences.
    #[serde(default)]
    pub reason: String,
}

/// Another device of a device's IOMMU group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// Full PCI address, `0000:00:14.2`.
    pub address: String,
    /// False for bridges (host, PCI-to-PCI), which are never handed to a VM.
    pub endpoint: bool,
}

/// What is known of one device, from which [`PassthroughFacts::judge`] decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassthroughFacts {
    /// Reset methods; None when they cannot be known.
    pub reset_methods: Option<Vec<String>>,
    pub reset_source: ResetSource,
    /// Where the reset methods came from, or why they are not known.
    pub reset_note: String,
    /// Its IOMMU group number and the other members; None without IOMMU information.
    pub group: Option<(u32, Vec<GroupMember>)>,
    /// Why there is no IOMMU information (when `group` is None).
    pub group_note: String,
    /// The PCIe-to-PCI bridge a conventional PCI device sits behind.
    pub behind_pci_bridge: Option<String>,
    /// Other devices named by the same firmware RMRR (Xen refuses a shared RMRR).
    pub shared_rmrr_with: Vec<String>,
    /// Other facts worth a clause of the reason (an RMRR of its own, a check not made).
    pub notes: Vec<String>,
}

impl PassthroughFacts {
    /// The verdict: the first of unknown, not_isolated, assign_with_group, no_strict_reset,
    /// ready that applies.
    pub fn judge(&self) -> Passthrough {
        let reset_text = match &self.reset_methods {
            Some(m) if m.is_empty() => format!("no reset method ({})", self.reset_note),
            Some(m) => format!("resets by {} ({})", m.join(", "), self.reset_note),
            None => format!("reset methods unknown: {}", self.reset_note),
        };
        let others: Vec<&str> = self
            .group
            .as_ref()
            .map(|(_, m)| {
                m.iter()
                    .filter(|g| g.endpoint)
                    .map(|g| g.address.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let (verdict, mut reason) = if self.group.is_none() {
            (
                PassthroughVerdict::Unknown,
                format!("no IOMMU group: {}; {reset_text}", self.group_note),
            )
        } else if self.reset_methods.is_none() {
            (PassthroughVerdict::Unknown, reset_text.clone())
        } else if let Some(bridge) = &self.behind_pci_bridge {
            (
                PassthroughVerdict::NotIsolated,
                format!(
                    "conventional PCI behind the PCIe-to-PCI bridge {bridge}: the IOMMU sees \
                     the bridge, not the device, so it cannot be isolated from what else sits \
                     there; {reset_text}"
                ),
            )
        } else if !self.shared_rmrr_with.is_empty() {
            (
                PassthroughVerdict::NotIsolated,
                format!(
                    "a firmware RMRR names it together with {}: Xen refuses to assign a device \
                     with a shared RMRR; {reset_text}",
                    self.shared_rmrr_with.join(", ")
                ),
            )
        } else if !others.is_empty() {
            let n = self.group.as_ref().map_or(0, |(n, _)| *n);
            (
                PassthroughVerdict::AssignWithGroup,
                format!(
                    "IOMMU group {n} also holds {}: assign them to one VM together; \
                     {reset_text}",
                    others.join(", ")
                ),
            )
        } else if self.reset_methods.as_ref().is_some_and(Vec::is_empty) {
            (
                PassthroughVerdict::NoStrictReset,
                format!("{reset_text}: Qubes assigns it only with no-strict-reset=True"),
            )
        } else {
            let n = self.group.as_ref().map_or(0, |(n, _)| *n);
            (
                PassthroughVerdict::Ready,
                format!("alone in IOMMU group {n}; {reset_text}"),
            )
        };
        for note in &self.notes {
            let _ = write!(reason, "; {note}");
        }
        Passthrough {
            reset_methods: self.reset_methods.clone().unwrap_or_default(),
            reset_source: if self.reset_methods.is_some() {
                self.reset_source
            } else {
                ResetSource::Unknown
            },
            group: self
                .group
                .as_ref()
                .map(|(_, m)| m.iter().map(|g| g.address.clone()).collect()),
            verdict,
            reason,
        }
    }
}

/// The service VM the Qubes installer hands a PCI device to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceVm {
    /// Every network controller (PCI class 02).
    SysNet,
    /// Every USB controller (PCI class 0c03). The installer creates sys-usb by default; a
    /// machine whose only keyboard is USB still gets it (with the keyboard proxied to dom0).
    SysUsb,
}

impl ServiceVm {
    /// Which VM gets a PCI device of this class (`0c0330`, hex), if any.
    pub fn for_pci_class(class: &str) -> Option<ServiceVm> {
        match (class.get(..2), class.get(2..4)) {
            (Some("02"), _) => Some(ServiceVm::SysNet),
            (Some("0c" | "0C"), Some("03")) => Some(ServiceVm::SysUsb),
            _ => None,
        }
    }

    /// Which VM gets a device of this category when its class is not known (a Qubes HCL
    /// line: the `network` field's devices are network controllers).
    pub fn for_category(category: &Category) -> Option<ServiceVm> {
        if category.is_network() {
            Some(ServiceVm::SysNet)
        } else if *category == Category::UsbController {
            Some(ServiceVm::SysUsb)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ServiceVm::SysNet => "sys-net",
            ServiceVm::SysUsb => "sys-usb",
        }
    }
}

/// The controllers the Qubes installer hands to a service VM, as the readiness figures group
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControllerKind {
    /// A wired network controller (PCI class 02 but Wi-Fi): sys-net.
    Nic,
    /// A Wi-Fi controller (class 0280, the probe's `wifi` category): sys-net.
    Wifi,
    /// A network controller whose class was not recorded (a Qubes HCL `network:` line without
    /// `[02xx]`): NIC or Wi-Fi, sys-net either way.
    Network,
    /// A USB controller (PCI class 0c03): sys-usb.
    Usb,
}

impl ControllerKind {
    /// The kind of a PCI device the installer hands to sys-net or sys-usb, else None. The class
    /// is the device's `class`, else the base class and subclass its modalias names (a Qubes
    /// HCL line with `[0280]` but no prog-if: `...bc02sc80i??`), else the category decides.
    pub fn of(d: &crate::Device) -> Option<ControllerKind> {
        ControllerKind::of_parts(&d.bus, d.class.as_deref(), &d.category, &d.modalias)
    }

    /// [`ControllerKind::of`] on the parts of a device (the aggregator keeps them apart).
    pub fn of_parts(
        bus: &str,
        class: Option<&str>,
        category: &Category,
        modalias: &str,
    ) -> Option<ControllerKind> {
        let modalias = Modalias::parse(modalias).ok();
        let bus = match bus {
            "" => modalias.map_or("", |m| m.bus()),
            b => b,
        };
        if bus != "pci" {
            return None;
        }
        let class = class.map(str::to_owned).or_else(|| {
            let ids = *modalias?.pci()?;
            Some(format!("{:02x}{:02x}", ids.class?, ids.subclass?))
        });
        let class = class.as_deref();
        let vm = match class {
            Some(c) => ServiceVm::for_pci_class(c)?,
            None => ServiceVm::for_category(category)?,
        };
        Some(match vm {
            ServiceVm::SysUsb => ControllerKind::Usb,
            _ if *category == Category::Wifi
                || class.is_some_and(|c| c.get(..4).is_some_and(|c| c == "0280")) =>
            {
                ControllerKind::Wifi
            }
            _ if class.is_some() => ControllerKind::Nic,
            _ => ControllerKind::Network,
        })
    }

    /// False for [`ControllerKind::Network`]: another report's class may say which it is.
    pub fn certain(self) -> bool {
        self != ControllerKind::Network
    }

    pub fn label(self) -> &'static str {
        match self {
            ControllerKind::Nic => "NIC",
            ControllerKind::Wifi => "Wi-Fi",
            ControllerKind::Network => "network controller (NIC or Wi-Fi not recorded)",
            ControllerKind::Usb => "USB controller",
        }
    }

    pub fn service_vm(self) -> ServiceVm {
        match self {
            ControllerKind::Nic | ControllerKind::Wifi | ControllerKind::Network => {
                ServiceVm::SysNet
            }
            ControllerKind::Usb => ServiceVm::SysUsb,
        }
    }
}

/// Host bridges and PCI-to-PCI bridges (class `0600`, `0604`, `0609`, hex) are never handed to
/// a VM: in an IOMMU group they do not count as devices to assign together.
pub fn is_bridge_class(class: &str) -> bool {
    matches!(class.get(..4), Some("0600" | "0604" | "0609"))
}

/// What the firmware and kernel offer for suspend to RAM (`System::suspend`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Suspend {
    /// `/sys/power/mem_sleep` without the brackets: `s2idle`, `shallow`, `deep`.
    #[serde(default)]
    pub mem_sleep: Vec<String>,
    /// The one in brackets: what suspend to RAM does now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem_sleep_current: Option<String>,
    /// S3 ("deep"), which Qubes suspend needs (s2idle alone often fails under Xen).
    #[serde(default)]
    pub deep: Tri,
    /// The ACPI FADT's LOW_POWER_S0_IDLE_CAPABLE flag: the firmware prefers s2idle (S0ix).
    #[serde(default)]
    pub low_power_s0: Tri,
}

impl Suspend {
    /// From the text of `/sys/power/state` and `/sys/power/mem_sleep` (None: not there).
    /// Without `mem_sleep` (kernels before 4.10) `mem` in `state` does not say which sleep it
    /// is, so `deep` stays unknown unless suspend to RAM is missing altogether.
    pub fn from_sysfs(state: Option<&str>, mem_sleep: Option<&str>, low_power_s0: Tri) -> Self {
        let mut s = Suspend {
            low_power_s0,
            ..Suspend::default()
        };
        if let Some(text) = mem_sleep {
            for word in text.split_whitespace() {
                let name = word.trim_start_matches('[').trim_end_matches(']');
                if name.len() != word.len() {
                    s.mem_sleep_current = Some(name.to_owned());
                }
                s.mem_sleep.push(name.to_owned());
            }
            s.deep = if s.mem_sleep.iter().any(|m| m == "deep") {
                Tri::Yes
            } else {
                Tri::No
            };
        } else if let Some(state) = state
            && !state.split_whitespace().any(|w| w == "mem")
        {
            s.deep = Tri::No;
        }
        s
    }

    /// `mem_sleep` as the kernel writes it, the current one in brackets (`s2idle [deep]`), or
    /// `unknown`: one spelling for the probe's table and the pages.
    pub fn mem_sleep_text(&self) -> String {
        if self.mem_sleep.is_empty() {
            return "unknown".to_owned();
        }
        self.mem_sleep
            .iter()
            .map(|m| {
                if self.mem_sleep_current.as_deref() == Some(m.as_str()) {
                    format!("[{m}]")
                } else {
                    m.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// What a machine offers Qubes for suspend to RAM: the one rule the fleet figures count by.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SuspendSupport {
    /// S3 ("deep") is offered: what Qubes suspend needs.
    Deep,
    /// No S3; s2idle (or standby) is all suspend to RAM offers: Qubes suspend often fails.
    S2idleOnly,
    /// No suspend to RAM at all (`mem` missing from `/sys/power/state`).
    NoSuspend,
    /// Not known (no `mem_sleep` file on a kernel before 4.10, or not readable).
    #[default]
    Unknown,
}

impl SuspendSupport {
    pub fn label(self) -> &'static str {
        match self {
            SuspendSupport::Deep => "S3 (deep)",
            SuspendSupport::S2idleOnly => "s2idle only",
            SuspendSupport::NoSuspend => "no suspend to RAM",
            SuspendSupport::Unknown => "unknown",
        }
    }
}

impl Suspend {
    /// Which of [`SuspendSupport`] this is.
    pub fn support(&self) -> SuspendSupport {
        match self.deep {
            Tri::Yes => SuspendSupport::Deep,
            Tri::No if self.mem_sleep.is_empty() => SuspendSupport::NoSuspend,
            Tri::No => SuspendSupport::S2idleOnly,
            Tri::Unknown => SuspendSupport::Unknown,
        }
    }
}

/// A fact of [`System`](crate::System) that cannot be seen from where the probe ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HiddenFact {
    /// Xen hides vmx/svm from a PV dom0; `xl info` (xen_caps) has it.
    Hvm,
    /// EPT/NPT: hidden from dom0; `xl dmesg` ("HAP") has it.
    Slat,
    /// Xen owns the IOMMU; `xl info` (virt_caps hvm_directio) has it.
    IommuEnabled,
    /// Xen remaps interrupts; `xl dmesg` has it.
    InterruptRemapping,
    /// MemTotal is dom0's share; `xl info` (total_memory) has the machine's.
    Memory,
}

impl HiddenFact {
    pub fn label(self) -> &'static str {
        match self {
            HiddenFact::Hvm => "HVM",
            HiddenFact::Slat => "SLAT",
            HiddenFact::IommuEnabled => "IOMMU enabled",
            HiddenFact::InterruptRemapping => "interrupt remapping",
            HiddenFact::Memory => "total memory",
        }
    }
}

/// Xen guest types as `/sys/hypervisor/guest_type` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum XenGuestType {
    #[serde(rename = "PV")]
    Pv,
    #[serde(rename = "PVH")]
    Pvh,
    #[serde(rename = "HVM")]
    Hvm,
}

impl XenGuestType {
    pub fn name(self) -> &'static str {
        match self {
            XenGuestType::Pv => "PV",
            XenGuestType::Pvh => "PVH",
            XenGuestType::Hvm => "HVM",
        }
    }
}

/// The probe ran under Xen (`System::xen`): a Qubes dom0, or a VM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct XenInfo {
    /// Yes in dom0 (`/proc/xen/capabilities` says `control_d`, or Xen's renamed DMAR table is
    /// there), no in a VM.
    #[serde(default)]
    pub dom0: Tri,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_type: Option<XenGuestType>,
    /// `4.17.4`, as `xl info` and `qubes-hcl-report` write it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The Qubes release (`4.2.4`) when `/etc/qubes-release` says one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qubes_release: Option<String>,
    /// Facts that cannot be seen from here: reported unknown, not "no".
    #[serde(default)]
    pub hidden: Vec<HiddenFact>,
}

impl XenInfo {
    pub fn hides(&self, fact: HiddenFact) -> bool {
        self.hidden.contains(&fact)
    }
}

/// The HCL's `iommu` (enabled, as Xen would use it) from what a scan saw: yes when the
/// running kernel uses an IOMMU, no when the firmware describes none, unknown otherwise (a
/// table is there but the running kernel left it off: Xen may still turn it on).
pub fn hcl_iommu(present: Tri, enabled: Tri) -> Tri {
    match (present, enabled) {
        (_, Tri::Yes) => Tri::Yes,
        (Tri::No, _) => Tri::No,
        _ => Tri::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> PassthroughFacts {
        PassthroughFacts {
            reset_methods: Some(vec!["flr".into(), "bus".into()]),
            reset_source: ResetSource::Kernel,
            reset_note: "from the kernel".into(),
            group: Some((7, vec![])),
            ..Default::default()
        }
    }

    #[test]
    fn the_first_verdict_that_applies_wins() {
        let mut f = facts();
        assert_eq!(f.judge().verdict, PassthroughVerdict::Ready);
        f.reset_methods = Some(vec![]);
        assert_eq!(f.judge().verdict, PassthroughVerdict::NoStrictReset);
        assert!(f.judge().reason.contains("no-strict-reset=True"));
        f.group = Some((
            7,
            vec![
                GroupMember {
                    address: "0000:00:1c.0".into(),
                    endpoint: false,
                },
                GroupMember {
                    address: "0000:00:14.2".into(),
                    endpoint: true,
                },
            ],
        ));
        let p = f.judge();
        assert_eq!(p.verdict, PassthroughVerdict::AssignWithGroup);
        assert_eq!(
            p.group,
            Some(vec!["0000:00:1c.0".to_owned(), "0000:00:14.2".to_owned()])
        );
        assert!(p.reason.contains("0000:00:14.2") && !p.reason.contains("1c.0"));
        f.shared_rmrr_with = vec!["0000:00:1d.0".into()];
        assert_eq!(f.judge().verdict, PassthroughVerdict::NotIsolated);
        f.reset_methods = None;
        let p = f.judge();
        assert_eq!(p.verdict, PassthroughVerdict::Unknown);
        assert_eq!(p.reset_source, ResetSource::Unknown);
        f.reset_methods = Some(vec![]);
        f.group = None;
        f.group_note = "Xen owns the IOMMU".into();
        assert_eq!(f.judge().verdict, PassthroughVerdict::Unknown);
        assert_eq!(f.judge().group, None);
    }

    #[test]
    fn only_bridges_in_the_group_leave_it_ready() {
        let mut f = facts();
        f.group = Some((
            3,
            vec![GroupMember {
                address: "0000:00:1c.0".into(),
                endpoint: false,
            }],
        ));
        assert_eq!(f.judge().verdict, PassthroughVerdict::Ready);
    }

    #[test]
    fn suspend_from_sysfs_text() {
        let s = Suspend::from_sysfs(Some("freeze mem disk"), Some("s2idle [deep]"), Tri::No);
        assert_eq!(s.mem_sleep, ["s2idle", "deep"]);
        assert_eq!(s.mem_sleep_current.as_deref(), Some("deep"));
        assert_eq!(s.deep, Tri::Yes);
        assert_eq!(s.mem_sleep_text(), "s2idle [deep]");
        assert_eq!(Suspend::default().mem_sleep_text(), "unknown");
        let s = Suspend::from_sysfs(Some("freeze mem"), Some("[s2idle]"), Tri::Yes);
        assert_eq!(s.deep, Tri::No);
        // An old kernel: `mem` is there but which sleep it is cannot be told.
        assert_eq!(
            Suspend::from_sysfs(Some("mem disk"), None, Tri::No).deep,
            Tri::Unknown
        );
        assert_eq!(
            Suspend::from_sysfs(Some("freeze"), None, Tri::No).deep,
            Tri::No
        );
        assert_eq!(Suspend::from_sysfs(None, None, Tri::No).deep, Tri::Unknown);
    }

    #[test]
    fn suspend_support_for_the_fleet_figures() {
        let support = |state: Option<&str>, mem: Option<&str>| {
            Suspend::from_sysfs(state, mem, Tri::No).support()
        };
        assert_eq!(
            support(Some("freeze mem"), Some("s2idle [deep]")),
            SuspendSupport::Deep
        );
        assert_eq!(
            support(Some("freeze mem"), Some("[s2idle]")),
            SuspendSupport::S2idleOnly
        );
        assert_eq!(
            support(Some("freeze mem"), Some("[s2idle] shallow")),
            SuspendSupport::S2idleOnly
        );
        assert_eq!(
            support(Some("freeze disk"), None),
            SuspendSupport::NoSuspend
        );
        assert_eq!(support(Some("mem disk"), None), SuspendSupport::Unknown);
        assert_eq!(support(None, None), SuspendSupport::Unknown);
    }

    #[test]
    fn service_vms_by_class() {
        assert_eq!(ServiceVm::for_pci_class("028000"), Some(ServiceVm::SysNet));
        assert_eq!(ServiceVm::for_pci_class("020000"), Some(ServiceVm::SysNet));
        assert_eq!(ServiceVm::for_pci_class("0c0330"), Some(ServiceVm::SysUsb));
        assert_eq!(ServiceVm::for_pci_class("0c0500"), None);
        assert_eq!(ServiceVm::for_pci_class("0"), None);
        assert_eq!(
            ServiceVm::for_category(&Category::Network),
            Some(ServiceVm::SysNet)
        );
        assert_eq!(
            ServiceVm::for_category(&Category::UsbController),
            Some(ServiceVm::SysUsb)
        );
        assert_eq!(ServiceVm::for_category(&Category::Gpu), None);
    }

    #[test]
    fn controllers_by_class_category_and_modalias() {
        let kind = |class: Option<&str>, cat: Category, modalias: &str| {
            ControllerKind::of_parts("pci", class, &cat, modalias)
        };
        assert_eq!(
            kind(Some("020000"), Category::Network, ""),
            Some(ControllerKind::Nic)
        );
        assert_eq!(
            kind(Some("028000"), Category::Wifi, ""),
            Some(ControllerKind::Wifi)
        );
        assert_eq!(
            kind(Some("028000"), Category::Network, ""),
            Some(ControllerKind::Wifi)
        );
        assert_eq!(
            kind(Some("0c0330"), Category::UsbController, ""),
            Some(ControllerKind::Usb)
        );
        assert_eq!(
            kind(Some("0c0320"), Category::UsbController, ""),
            Some(ControllerKind::Usb)
        );
        assert_eq!(kind(Some("030000"), Category::Gpu, ""), None);
        assert_eq!(kind(Some("0c0500"), Category::Smbus, ""), None);
        // A Qubes HCL `network:` line without a class: sys-net, NIC or Wi-Fi not known.
        assert_eq!(
            kind(None, Category::Network, ""),
            Some(ControllerKind::Network)
        );
        assert_eq!(kind(None, Category::Gpu, ""), None);
        // An HCL line that said `[0280]` but no prog-if: the class is in the modalias.
        let line = |m: &str| kind(None, Category::Network, m);
        assert_eq!(
            line("pci:v00008086d000051F0sv????????sd????????bc02sc80i??"),
            Some(ControllerKind::Wifi)
        );
        assert_eq!(
            line("pci:v00008086d000051F0sv????????sd????????bc??sc??i??"),
            Some(ControllerKind::Network)
        );
        assert_eq!(
            line("pci:v000010ECd00008125sv????????sd????????bc02sc00i??"),
            Some(ControllerKind::Nic)
        );
        // The bus comes from the modalias when the report left it empty; USB is never one.
        assert_eq!(
            ControllerKind::of_parts(
                "",
                None,
                &Category::Network,
                "pci:v000010ECd00008125sv????????sd????????bc02sc00i??"
            ),
            Some(ControllerKind::Nic)
        );
        assert_eq!(
            ControllerKind::of_parts("usb", Some("0c0330"), &Category::UsbController, ""),
            None
        );
        assert!(ControllerKind::Usb.certain() && !ControllerKind::Network.certain());
        assert_eq!(ControllerKind::Wifi.service_vm(), ServiceVm::SysNet);
    }

    #[test]
    fn hcl_iommu_is_the_enabled_one() {
        assert_eq!(hcl_iommu(Tri::Yes, Tri::Yes), Tri::Yes);
        assert_eq!(hcl_iommu(Tri::Yes, Tri::No), Tri::Unknown);
        assert_eq!(hcl_iommu(Tri::No, Tri::No), Tri::No);
        assert_eq!(hcl_iommu(Tri::Unknown, Tri::Unknown), Tri::Unknown);
    }
}
