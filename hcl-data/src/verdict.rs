//! Verdicts, roles and yes/no/unknown answers, with every name they are shown under.
//!
//! ## What `unknown` means
//!
//! [`Verdict::Unknown`] is *no evidence*: the kernel's profile has no data for the device (a
//! bus the derived RHEL and Qubes data does not cover, a partial id whose unknown fields decide
//! the match, a modalias that is not text). It never counts as driven and never as a loss or a
//! failure; where verdicts are combined, a known verdict wins over it ([`Verdict::worst_known`],
//! [`Verdict::lost_against`]); a machine whose dom0 devices are all unknown on a kernel has *no
//! data* there, not a working dom0 ([`crate::MachineState`]).

use crate::closed::closed_set;

closed_set! {
    /// The verdict of one kernel on one device, best first; where several apply the worst one
    /// is taken.
    #[derive(Default)]
    pub enum Verdict {
        /// A driver matches and nothing known stands in the way.
        Supported = "supported",
        /// A driver matches, but it is unmaintained or deprecated in this distro.
        Deprecated = "deprecated",
        /// A driver matches, but only in an optional package (kernel-modules-extra).
        ExtraPackage = "extra_package",
        /// A driver matches, but firmware it asks for is not in the distro's firmware packages.
        FirmwareMissing = "firmware_missing",
        /// A driver matches but binds the device only with a module parameter (i915/xe
        /// `force_probe`): not driven as installed. See [`crate::Coverage::conditions`].
        NeedsParameter = "needs_parameter",
        /// The alias matches but the distro refuses the device (RHEL disabled list).
        Disabled = "disabled",
        /// The alias matches but the driver does not know this chip in this kernel (firmware for
        /// this chip unknown to it): not driven. See [`crate::Coverage::conditions`].
        UnknownChip = "unknown_chip",
        /// No driver in this kernel.
        NoDriver = "no_driver",
        /// No evidence either way (see the module documentation).
        #[default]
        Unknown = "unknown",
    }
}

impl Verdict {
    /// True when the kernel drives the device (perhaps with caveats).
    pub fn is_driven(self) -> bool {
        matches!(
            self,
            Verdict::Supported
                | Verdict::Deprecated
                | Verdict::ExtraPackage
                | Verdict::FirmwareMissing
        )
    }

    /// True when this verdict is a known failure: not driven, and not [`Verdict::Unknown`].
    pub fn is_failure(self) -> bool {
        !self.is_driven() && self != Verdict::Unknown
    }

    /// True when a kernel with this verdict loses the device that a kernel with `other`
    /// drives. Unknown is no evidence, so it loses nothing.
    pub fn lost_against(self, other: Verdict) -> bool {
        self.is_failure() && other.is_driven()
    }

    /// The worst known verdict of several (variants of one device kind): Unknown only when
    /// none is known.
    pub fn worst_known(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        verdicts
            .into_iter()
            .filter(|v| *v != Verdict::Unknown)
            .max()
            .unwrap_or(Verdict::Unknown)
    }

    /// The label of the HCL pages (`driven`, `no firmware`, `no data`).
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Supported => "driven",
            Verdict::Deprecated => "deprecated",
            Verdict::ExtraPackage => "extra pkg",
            Verdict::FirmwareMissing => "no firmware",
            Verdict::NeedsParameter => "needs force_probe",
            Verdict::Disabled => "disabled",
            Verdict::UnknownChip => "chip unknown",
            Verdict::NoDriver => "no driver",
            Verdict::Unknown => "no data",
        }
    }

    /// The cell of the probe's table; `lost` when another candidate drives the device.
    pub fn cell(self, lost: bool) -> &'static str {
        match self {
            Verdict::Supported => "ok",
            Verdict::Deprecated => "depr",
            Verdict::ExtraPackage => "extra",
            Verdict::FirmwareMissing => "fw",
            Verdict::NeedsParameter => "param",
            Verdict::Disabled => "OFF",
            Verdict::UnknownChip if lost => "LOST",
            Verdict::UnknownChip => "chip",
            Verdict::NoDriver if lost => "LOST",
            Verdict::NoDriver => "-",
            Verdict::Unknown => "?",
        }
    }
}

closed_set! {
    /// Who needs a device: dom0 itself, or a VM it can be given to. Ordered by weight: dom0
    /// first.
    #[derive(Default)]
    pub enum Role {
        /// GPU, storage, input, the USB controller with the keyboard: dom0 cannot work
        /// without it.
        Dom0 = "dom0",
        /// Network, other USB controllers, audio: given to a VM.
        Assignable = "assignable",
        /// Bridges and other devices no driver choice depends on.
        #[default]
        Other = "other",
    }
}

impl Role {
    /// The short form of the probe's table (`dom0`, `vm`, `-`).
    pub fn short(self) -> &'static str {
        match self {
            Role::Dom0 => "dom0",
            Role::Assignable => "vm",
            Role::Other => "-",
        }
    }
}

closed_set! {
    /// Yes, no, or not known.
    #[derive(Default)]
    pub enum Tri {
        Yes = "yes",
        No = "no",
        #[default]
        Unknown = "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serde_names() {
        for v in Verdict::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
            let back: Verdict = serde_json::from_value(v.as_str().into()).unwrap();
            assert_eq!(back, *v);
        }
        assert!(serde_json::from_value::<Verdict>("sure".into()).is_err());
        assert_eq!(Role::Assignable.as_str(), "assignable");
        assert_eq!(Tri::default().as_str(), "unknown");
    }

    #[test]
    fn unknown_is_no_evidence() {
        use Verdict::*;
        assert!(!Unknown.is_driven() && !Unknown.is_failure());
        assert!(NoDriver.lost_against(Supported));
        assert!(Disabled.lost_against(FirmwareMissing));
        assert!(!Unknown.lost_against(Supported));
        assert!(!NoDriver.lost_against(Unknown));
        assert_eq!(
            Verdict::worst_known([Unknown, Supported, Deprecated]),
            Deprecated
        );
        assert_eq!(Verdict::worst_known([Unknown, Unknown]), Unknown);
        assert_eq!(Verdict::worst_known([NoDriver, Unknown]), NoDriver);
    }
}
