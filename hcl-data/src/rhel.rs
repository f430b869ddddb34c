//! RHEL's hardware status (`rh_messages.h`): which tables exist, what each says, and what that
//! means for a verdict.

use serde::{Deserialize, Serialize};

use crate::closed::closed_set;
use crate::verdict::Verdict;

/// RHEL's hardware status for a device or driver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RhelStatus {
    pub status: RhelState,
    /// Which kind of table said it.
    pub by: RhelBy,
    /// The driver's name, or the PCI ids of the device row (`8086:1234 *:*`).
    #[serde(default)]
    pub name: String,
}

impl RhelStatus {
    /// `disabled (by device: 8086:1234 *:*)`, `deprecated (by driver)`.
    pub fn detail(&self) -> String {
        if self.name.is_empty() {
            format!("{} (by {})", self.status, self.by)
        } else {
            format!("{} (by {}: {})", self.status, self.by, self.name)
        }
    }
}

closed_set! {
    /// What a RHEL table says about a device or driver.
    pub enum RhelState or Other {
        Disabled = "disabled",
        Unmaintained = "unmaintained",
        Deprecated = "deprecated",
    }
}

impl RhelState {
    /// Which of two statuses wins: disabled, then unmaintained, then the rest.
    pub fn severity(&self) -> u8 {
        match self {
            RhelState::Disabled => 3,
            RhelState::Unmaintained => 2,
            RhelState::Deprecated | RhelState::Other(_) => 1,
        }
    }

    /// The verdict a device gets when a driver matches but RHEL says this.
    pub fn verdict(&self) -> Verdict {
        match self {
            RhelState::Disabled => Verdict::Disabled,
            _ => Verdict::Deprecated,
        }
    }
}

closed_set! {
    /// Whether a status comes from a PCI id table or a driver name table.
    pub enum RhelBy or Other {
        Device = "device",
        Driver = "driver",
    }
}

closed_set! {
    /// The tables of `rh_messages.h`, as the profiles store them.
    pub enum RhelTable or Other {
        DisabledPciDevices = "rh_disabled_pci_devices",
        UnmaintainedPciDevices = "rh_unmaintained_pci_devices",
        DeprecatedPciDevices = "rh_deprecated_pci_devices",
        UnmaintainedDrivers = "rh_unmaintained_drivers",
        DeprecatedDrivers = "rh_deprecated_drivers",
    }
}

impl RhelTable {
    /// What a row of this table says and how it is matched; None for an unknown table.
    pub fn meaning(&self) -> Option<(RhelState, RhelBy)> {
        Some(match self {
            RhelTable::DisabledPciDevices => (RhelState::Disabled, RhelBy::Device),
            RhelTable::UnmaintainedPciDevices => (RhelState::Unmaintained, RhelBy::Device),
            RhelTable::DeprecatedPciDevices => (RhelState::Deprecated, RhelBy::Device),
            RhelTable::UnmaintainedDrivers => (RhelState::Unmaintained, RhelBy::Driver),
            RhelTable::DeprecatedDrivers => (RhelState::Deprecated, RhelBy::Driver),
            RhelTable::Other(_) => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_read_and_write_back() {
        let s: RhelStatus =
            serde_json::from_str(r#"{"status":"withdrawn","by":"firmware","name":"x"}"#).unwrap();
        assert_eq!(s.status, RhelState::Other("withdrawn".into()));
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"status":"withdrawn","by":"firmware","name":"x"}"#
        );
        assert_eq!(RhelTable::from("rh_new_table").meaning(), None);
        assert_eq!(
            RhelTable::from("rh_disabled_pci_devices").meaning(),
            Some((RhelState::Disabled, RhelBy::Device))
        );
    }
}
