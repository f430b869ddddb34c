//! [`KernelSummary`]: how one machine fares on one kernel, and [`MachineState`], what that
//! means for dom0. Computed by the rule in `summary.rs`.

use serde::{Deserialize, Serialize};

use crate::closed::closed_set;
use crate::verdict::Tri;

/// Per kernel, how many of a machine's devices it drives.
///
/// The totals count the devices the kernel has evidence for (a known verdict); devices with
/// verdict [`Verdict::Unknown`] are counted in `*_unknown` instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelSummary {
    /// Dom0-critical devices with a known verdict.
    pub dom0_total: u32,
    /// Of those, the ones the kernel drives.
    pub dom0_covered: u32,
    /// Assignable devices with a known verdict.
    pub assignable_total: u32,
    pub assignable_covered: u32,
    /// True when dom0 keeps working: [`MachineState::Ok`].
    pub dom0_ok: bool,
    /// Dom0-critical devices the kernel has no data for.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dom0_unknown: u32,
    /// Assignable devices the kernel has no data for.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub assignable_unknown: u32,
    /// The answer rests on partial identifiers (Qubes HCL imports).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

closed_set! {
    /// How one machine fares on one kernel.
    pub enum MachineState {
        /// Every dom0-critical device with a known verdict is driven, and there is one.
        Ok = "ok",
        /// At least one dom0-critical device has no driver (or is refused).
        Fails = "fails",
        /// No dom0-critical device has a known verdict (none found, or only ones the kernel has
        /// no data for): left out of shares.
        NoData = "no_data",
    }
}

impl MachineState {
    /// The label of the HCL pages.
    pub fn label(self) -> &'static str {
        match self {
            MachineState::Ok => "works",
            MachineState::Fails => "fails",
            MachineState::NoData => "no data",
        }
    }

    /// Whether dom0 works, as yes / no / unknown.
    pub fn dom0_works(self) -> Tri {
        match self {
            MachineState::Ok => Tri::Yes,
            MachineState::Fails => Tri::No,
            MachineState::NoData => Tri::Unknown,
        }
    }
}

impl KernelSummary {
    /// Whether dom0 keeps working on this kernel.
    pub fn state(&self) -> MachineState {
        if self.dom0_total == 0 {
            MachineState::NoData
        } else if self.dom0_covered < self.dom0_total {
            MachineState::Fails
        } else {
            MachineState::Ok
        }
    }
}
