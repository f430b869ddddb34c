//! Observed against predicted: the one rule that says whether a kernel's prediction for a device
//! held when that kernel really booted on the machine (the observation stick's reports).

use serde::{Deserialize, Serialize};

use crate::report::{Device, Observed};

/// How a prediction compares with what the booted kernel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    /// A driver was predicted and the one that bound is among those predicted.
    Right,
    /// No driver predicted, none bound.
    RightNone,
    /// A driver was predicted but none bound.
    PredictedNotBound,
    /// A driver bound that the prediction did not name (another one, or none predicted).
    BoundNotPredicted,
}

impl Agreement {
    pub fn is_right(self) -> bool {
        matches!(self, Agreement::Right | Agreement::RightNone)
    }
}

impl Device {
    /// How the prediction of profile `kernel` compares with what was observed; None when the
    /// device was not observed, the profile has no coverage for it, or no driver binds to such
    /// a device at all: input devices (handlers such as evdev attach to every one), the CPU
    /// (feature modules load without binding), a USB device as a whole (the generic `usb`
    /// driver; its interfaces carry the drivers).
    pub fn agreement(&self, kernel: &str) -> Option<Agreement> {
        let observed = self.observed.as_ref()?;
        let coverage = self.coverage.get(kernel)?;
        let usb_device = self.usb.as_ref().is_some_and(|u| u.kind.is_device());
        if matches!(self.bus.as_str(), "input" | "cpu") || usb_device {
            return None;
        }
        let predicted: Vec<&str> = coverage
            .modules
            .iter()
            .chain(&coverage.builtin)
            .chain(&coverage.inferred_builtin)
            .map(String::as_str)
            .collect();
        let driver = self.driver.as_ref().or(observed.companion_driver.as_ref());
        Some(match (driver, predicted.is_empty()) {
            (None, true) => Agreement::RightNone,
            (None, false) => Agreement::PredictedNotBound,
            (Some(_), true) => Agreement::BoundNotPredicted,
            (Some(driver), false) => {
                if bound_is_predicted(driver, observed, &predicted) {
                    Agreement::Right
                } else {
                    Agreement::BoundNotPredicted
                }
            }
        })
    }
}

/// Drivers and modules are named apart (`xhci_hcd` is the driver of module `xhci_pci`,
/// `usb-storage` of `usb_storage`): the bound driver's module decides when known, else the
/// driver's name in kmod's spelling.
fn bound_is_predicted(driver: &str, observed: &Observed, predicted: &[&str]) -> bool {
    let norm = |s: &str| s.replace('-', "_");
    let bound = observed
        .driver_module
        .as_deref()
        .map_or_else(|| norm(driver), norm);
    predicted
        .iter()
        .any(|p| norm(p) == bound || norm(p) == norm(driver))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Coverage;

    fn device(driver: Option<&str>, module: Option<&str>, predicted: &[&str]) -> Device {
        let mut d = Device {
            driver: driver.map(str::to_owned),
            observed: Some(Observed {
                driver_module: module.map(str::to_owned),
                ..Default::default()
            }),
            ..Default::default()
        };
        d.coverage.insert(
            "k".into(),
            Coverage {
                modules: predicted.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
        );
        d
    }

    #[test]
    fn driver_names_differ_from_module_names() {
        let a = |d: &Device| d.agreement("k");
        assert_eq!(
            a(&device(Some("xhci_hcd"), Some("xhci_pci"), &["xhci_pci"])),
            Some(Agreement::Right)
        );
        assert_eq!(
            a(&device(
                Some("usb-storage"),
                Some("usb_storage"),
                &["usb_storage"]
            )),
            Some(Agreement::Right)
        );
        assert_eq!(
            a(&device(None, None, &["e1000e"])),
            Some(Agreement::PredictedNotBound)
        );
        assert_eq!(
            a(&device(Some("nouveau"), Some("nouveau"), &["nvidiafb"])),
            Some(Agreement::BoundNotPredicted)
        );
        assert_eq!(a(&device(None, None, &[])), Some(Agreement::RightNone));
        assert_eq!(device(None, None, &[]).agreement("other"), None);
        let mut acpi = device(None, None, &["i8042"]);
        if let Some(o) = acpi.observed.as_mut() {
            o.companion_driver = Some("i8042".into());
        }
        assert_eq!(a(&acpi), Some(Agreement::Right));
        let mut input = device(None, None, &["evdev"]);
        input.bus = "input".into();
        assert_eq!(a(&input), None);
    }
}
