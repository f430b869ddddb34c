//! Observed against predicted: the one rule that says whether a kernel's prediction for a device
//! held when that kernel really booted on the machine (the observation stick's reports), which
//! observed failures are the device's, and how a report's devices add up per kernel. The probe's
//! `stick results` table and the aggregator's accuracy page both count with [`Tally`].

use serde::{Deserialize, Serialize};

use crate::report::{Coverage, Device, Observed, ObservedError, Report};

/// How a prediction compares with what the booted kernel did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    /// A driver was predicted and the one that bound is among those predicted.
    Right,
    /// No driver predicted, none bound.
    RightNone,
    /// None bound, and every module predicted loaded but registers no driver at all: a module
    /// that an alias loads for the device without driving it (efi_pstore for
    /// `platform:efivars`). The prediction, "this module handles it", held.
    LoadedWithoutDriver,
    /// A driver was predicted but none bound.
    PredictedNotBound,
    /// A driver bound that the prediction did not name (another one, or none predicted).
    BoundNotPredicted,
    /// A driver built into the kernel bound that no alias in the kernel's data names: kernels
    /// before about 6.18 record no aliases for built-in drivers, and a platform driver that
    /// matches its device by name (i8042, serial8250, alarmtimer) has none at all. Alias data
    /// cannot predict it: a limit of the method, not a wrong prediction.
    BuiltinWithoutAlias,
}

impl Agreement {
    /// Every kind, in the order pages and tables show them.
    pub const ALL: [Agreement; 6] = [
        Agreement::Right,
        Agreement::RightNone,
        Agreement::LoadedWithoutDriver,
        Agreement::PredictedNotBound,
        Agreement::BoundNotPredicted,
        Agreement::BuiltinWithoutAlias,
    ];

    pub fn is_right(self) -> bool {
        matches!(
            self,
            Agreement::Right | Agreement::RightNone | Agreement::LoadedWithoutDriver
        )
    }

    /// A prediction that did not hold: work for the kernel data or the matcher.
    pub fn is_miss(self) -> bool {
        matches!(
            self,
            Agreement::PredictedNotBound | Agreement::BoundNotPredicted
        )
    }

    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            Agreement::Right => "predicted right",
            Agreement::RightNone => "no driver predicted, none bound",
            Agreement::LoadedWithoutDriver => {
                "predicted module loaded; it has no driver to bind (by design)"
            }
            Agreement::PredictedNotBound => "predicted a driver that did not bind",
            Agreement::BoundNotPredicted => "bound a driver not predicted",
            Agreement::BuiltinWithoutAlias => {
                "built-in driver without alias data: cannot be predicted"
            }
        }
    }
}

/// `-ENODEV`, as the kernel prints it.
const ENODEV: i32 = -19;

impl ObservedError {
    /// Whether this failure is the device's. A module whose init returns `-ENODEV` (-19) found
    /// none of its hardware (acpi_cpufreq without the firmware's P-state interface, amd64_edac
    /// without an AMD memory controller, powernow_k8 on a newer CPU): modules loaded for a
    /// CPU-feature or ACPI alias say "not mine" that way. That is no error of the device.
    pub fn is_device_error(&self) -> bool {
        !self.is_declined()
    }

    /// The module or driver declined: `-ENODEV`, no hardware of its own. The driver core never
    /// reports a probe that returns it as failed ("rejects match", at debug level only), so a
    /// probe error -19 comes only from a driver's own words; it is the same "not mine". Whether
    /// the prediction held is the agreement's business (a predicted driver that declined did
    /// not bind), not an error of the device.
    pub fn is_declined(&self) -> bool {
        self.errno == ENODEV
    }
}

impl Observed {
    /// The failures that are the device's (see [`ObservedError::is_device_error`]).
    pub fn device_errors(&self) -> impl Iterator<Item = &ObservedError> {
        self.errors.iter().filter(|e| e.is_device_error())
    }

    /// Modules that declined at load (`-ENODEV`).
    pub fn declined(&self) -> impl Iterator<Item = &ObservedError> {
        self.errors.iter().filter(|e| e.is_declined())
    }
}

/// The id of the profile imported from the booted kernel's own packages, under which a stick
/// report's devices carry that kernel's prediction (`stick-6.1.0-50-amd64`). A byte of the
/// release that a kernel id may not hold (upper case, a space) becomes `_`, so the id passes
/// [`crate::kernel_id_problem`] like every other coverage key.
pub fn own_profile_id(release: &str) -> String {
    let release: String = release
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '.' | '_' | '-' | '+') => c,
            _ => '_',
        })
        .collect();
    format!("stick-{release}")
}

impl Report {
    /// For a report of the observation stick: the booted kernel's release and the id of its own
    /// profile. None for a scan, which observes nothing.
    pub fn observed_kernel(&self) -> Option<(&str, String)> {
        let release = self.system.running_kernel.as_deref()?;
        self.devices
            .iter()
            .any(|d| d.observed.is_some())
            .then(|| (release, own_profile_id(release)))
    }
}

impl Coverage {
    /// Every driver the prediction names: loadable, built in with a recorded alias, built in
    /// by inference.
    pub fn predicted(&self) -> impl Iterator<Item = &str> {
        self.modules
            .iter()
            .chain(&self.builtin)
            .chain(&self.inferred_builtin)
            .map(String::as_str)
    }
}

impl Device {
    /// The driver that bound: the device's own, or for an ACPI node its companion's.
    pub fn bound_driver(&self) -> Option<&str> {
        self.driver.as_deref().or(self
            .observed
            .as_ref()
            .and_then(|o| o.companion_driver.as_deref()))
    }

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
        let predicted: Vec<&str> = coverage.predicted().collect();
        let Some(driver) = self.bound_driver() else {
            let norm = |s: &str| s.replace('-', "_");
            let without_driver = |p: &&str| {
                observed
                    .modules_without_driver
                    .iter()
                    .any(|m| norm(m) == norm(p))
            };
            return Some(if predicted.is_empty() {
                Agreement::RightNone
            } else if predicted.iter().all(without_driver) {
                Agreement::LoadedWithoutDriver
            } else {
                Agreement::PredictedNotBound
            });
        };
        Some(if bound_is_predicted(driver, observed, &predicted) {
            Agreement::Right
        } else if observed.driver_builtin
            && observed.driver_module.is_none()
            && predicts_builtin(coverage)
        {
            // Built-in drivers registered without a module name (a PNP driver such as
            // "i8042 kbd" of i8042, "serial" of 8250) name no module in sysfs: the built-in
            // code predicted for the device is what bound. Such a bus matches by the same id
            // tables the aliases come from, so no other built-in driver could have.
            Agreement::Right
        } else if observed.driver_builtin {
            Agreement::BuiltinWithoutAlias
        } else {
            Agreement::BoundNotPredicted
        })
    }
}

/// The prediction names built-in code (by recorded alias or by inference).
fn predicts_builtin(coverage: &Coverage) -> bool {
    !coverage.builtin.is_empty() || !coverage.inferred_builtin.is_empty()
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

/// One kernel's devices as observed against predicted: what the accuracy page and the
/// `stick results` table count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Devices whose prediction can be compared (see [`Device::agreement`]).
    pub devices: u32,
    /// [`Agreement::Right`], [`Agreement::RightNone`], [`Agreement::LoadedWithoutDriver`].
    pub right: u32,
    pub predicted_not_bound: u32,
    pub bound_not_predicted: u32,
    pub builtin_without_alias: u32,
    /// Firmware files that failed to load, over all observed devices.
    pub firmware_failures: u32,
    /// Probe and module load failures that are the devices' own.
    pub errors: u32,
    /// Module loads declined with `-ENODEV` (not counted as errors).
    pub declined: u32,
}

impl Tally {
    /// Counts one device under profile `kernel`; returns its agreement.
    pub fn add(&mut self, device: &Device, kernel: &str) -> Option<Agreement> {
        let observed = device.observed.as_ref()?;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        self.firmware_failures += count(observed.firmware_failed.len());
        self.errors += count(observed.device_errors().count());
        self.declined += count(observed.declined().count());
        let agreement = device.agreement(kernel)?;
        self.devices += 1;
        match agreement {
            Agreement::Right | Agreement::RightNone | Agreement::LoadedWithoutDriver => {
                self.right += 1
            }
            Agreement::PredictedNotBound => self.predicted_not_bound += 1,
            Agreement::BoundNotPredicted => self.bound_not_predicted += 1,
            Agreement::BuiltinWithoutAlias => self.builtin_without_alias += 1,
        }
        Some(agreement)
    }

    /// Adds another tally (several reports of one kernel).
    pub fn merge(&mut self, other: &Tally) {
        self.devices += other.devices;
        self.right += other.right;
        self.predicted_not_bound += other.predicted_not_bound;
        self.bound_not_predicted += other.bound_not_predicted;
        self.builtin_without_alias += other.builtin_without_alias;
        self.firmware_failures += other.firmware_failures;
        self.errors += other.errors;
        self.declined += other.declined;
    }

    /// Predicted right among the devices whose prediction could hold or fail (the built-in
    /// drivers alias data cannot see left out); None without such devices.
    pub fn accuracy(&self) -> Option<f64> {
        let judged = self.devices - self.builtin_without_alias;
        (judged > 0).then(|| f64::from(self.right) / f64::from(judged))
    }
}

/// Whether a device belongs on a list of disagreements under profile `kernel`: a missed
/// prediction, a built-in driver alias data cannot see, a firmware failure or an error of its
/// own.
pub fn disagrees(device: &Device, kernel: &str) -> bool {
    let Some(observed) = &device.observed else {
        return false;
    };
    device.agreement(kernel).is_some_and(|a| !a.is_right())
        || !observed.firmware_failed.is_empty()
        || observed.device_errors().next().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ObservedErrorKind;

    #[test]
    fn regression_stick_profile_id_of_a_release_with_plus_is_refused() {
        // The domain model's one kernel-id rule refused the stick's reports of 7.3.4+deb13 (422).
        for release in [
            "7.3.4+deb13-amd64",
            "6.1.0-50-amd64",
            "5.14.0-427.el9.x86_64",
        ] {
            let id = own_profile_id(release);
            assert_eq!(id, format!("stick-{release}"));
            assert_eq!(crate::kernel_id_problem(&id), None, "{id}");
        }
        assert_eq!(own_profile_id("6.1.0-Custom 1"), "stick-6.1.0-custom_1");
    }

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

    /// The two reports of the QEMU run (`tests/fixtures/stick/qemu-q35-ovmf`): 6.1 and 7.3.4.
    fn qemu_run() -> Vec<Report> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/stick/qemu-q35-ovmf/reports.json.zst"
        );
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let json = zstd::decode_all(&bytes[..]).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_slice(&json).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The device of `report` whose modalias starts with `prefix` (the first one).
    fn find<'a>(report: &'a Report, prefix: &str) -> &'a Device {
        report
            .devices
            .iter()
            .find(|d| d.modalias.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} device"))
    }

    fn own(report: &Report) -> String {
        report.observed_kernel().map(|(_, p)| p).unwrap_or_default()
    }

    #[test]
    fn acpi_companion_named_apart_from_its_module_is_predicted_right() {
        // PNP0303's companion driver is "i8042 kbd" (module i8042), PNP0501's is "serial"
        // (module 8250): PNP drivers name no module in sysfs, built-in or not.
        for r in qemu_run() {
            for (node, driver, module) in [
                ("acpi:PNP0303:", "i8042 kbd", "i8042"),
                ("acpi:PNP0F13:", "i8042 aux", "i8042"),
                ("acpi:PNP0501:", "serial", "8250"),
            ] {
                let d = find(&r, node);
                assert_eq!(d.bound_driver(), Some(driver));
                let predicted: Vec<&str> = d.coverage[&own(&r)].predicted().collect();
                assert_eq!(predicted, [module], "{node}");
                assert_eq!(d.agreement(&own(&r)), Some(Agreement::Right), "{node}");
            }
        }
    }

    #[test]
    fn builtin_drivers_without_alias_data_are_not_prediction_misses() {
        let run = qemu_run();
        let (k61, k73) = (&run[0], &run[1]);
        assert_eq!(k61.system.running_kernel.as_deref(), Some("6.1.0-50-amd64"));
        // 6.1 records no built-in aliases: rtc_cmos and the PNP system driver cannot be
        // predicted; platform devices created by their own built-in driver have no alias at all.
        for prefix in [
            "acpi:PNP0B00:",
            "acpi:PNP0C01:",
            "platform:i8042",
            "platform:serial8250",
            "platform:reg-dummy",
            "platform:alarmtimer",
        ] {
            assert_eq!(
                find(k61, prefix).agreement(&own(k61)),
                Some(Agreement::BuiltinWithoutAlias),
                "6.1 {prefix}"
            );
        }
        // 7.3.4 records them: rtc_cmos is predicted right there; the name-matched platform
        // drivers still have no alias.
        assert_eq!(
            find(k73, "acpi:PNP0B00:").agreement(&own(k73)),
            Some(Agreement::Right)
        );
        for prefix in [
            "platform:i8042",
            "platform:serial8250",
            "platform:alarmtimer",
        ] {
            assert_eq!(
                find(k73, prefix).agreement(&own(k73)),
                Some(Agreement::BuiltinWithoutAlias),
                "7.3.4 {prefix}"
            );
        }
        // Regression: read without the observed built-in mark (reports before it), the same
        // device was a prediction miss.
        let mut old = find(k61, "platform:serial8250").clone();
        if let Some(o) = old.observed.as_mut() {
            o.driver_builtin = false;
        }
        assert_eq!(old.agreement(&own(k61)), Some(Agreement::BoundNotPredicted));
    }

    #[test]
    fn modules_declining_with_enodev_are_no_device_errors() {
        let run = qemu_run();
        let k61 = &run[0];
        let cpu = find(k61, "acpi:LNXCPU:")
            .observed
            .clone()
            .unwrap_or_default();
        let declined: Vec<&str> = cpu.declined().map(|e| e.driver.as_str()).collect();
        assert_eq!(declined, ["acpi_cpufreq", "pcc_cpufreq"]);
        assert_eq!(cpu.device_errors().count(), 0);
        for r in &run {
            let cpu = find(r, "cpu:type:x86").observed.clone().unwrap_or_default();
            let declined: Vec<&str> = cpu.declined().map(|e| e.driver.as_str()).collect();
            assert_eq!(declined, ["amd64_edac", "powernow_k8"]);
            assert!(cpu.errors.iter().all(|e| e.errno == -19));
        }
        let probe = |errno| ObservedError {
            kind: ObservedErrorKind::Probe,
            driver: "e1000e".into(),
            errno,
        };
        assert!(
            probe(-110).is_device_error(),
            "a probe that fails is the device's"
        );
        assert!(
            probe(-19).is_declined(),
            "-ENODEV is \"not mine\", never a failure"
        );
    }

    #[test]
    fn the_qemu_run_adds_up() {
        let run = qemu_run();
        let tallies: Vec<Tally> = run
            .iter()
            .map(|r| {
                let mut t = Tally::default();
                for d in &r.devices {
                    t.add(d, &own(r));
                }
                t
            })
            .collect();
        let expect = |devices, right, pnb, bwa, declined| Tally {
            devices,
            right,
            predicted_not_bound: pnb,
            bound_not_predicted: 0,
            builtin_without_alias: bwa,
            firmware_failures: 0,
            errors: 0,
            declined,
        };
        assert_eq!(tallies[0], expect(64, 57, 1, 6, 6), "6.1");
        assert_eq!(tallies[1], expect(64, 60, 1, 3, 2), "7.3.4");
        // The one real miss on both kernels: intel_agp declines the Q35 host bridge (no
        // integrated GPU).
        for r in &run {
            let misses: Vec<(&str, Option<&str>)> = r
                .devices
                .iter()
                .filter(|d| d.agreement(&own(r)).is_some_and(Agreement::is_miss))
                .map(|d| (d.modalias.get(..14).unwrap_or(""), d.bound_driver()))
                .collect();
            assert_eq!(
                misses,
                [("pci:v00008086d", None)],
                "{:?}",
                r.system.running_kernel
            );
            assert!(r.devices.iter().filter(|d| disagrees(d, &own(r))).count() >= 2);
        }
        let mut both = tallies[0];
        both.merge(&tallies[1]);
        assert_eq!(both.devices, 128);
        assert_eq!(both.accuracy(), Some(117.0 / 119.0));
    }

    #[test]
    fn a_module_that_registers_no_driver_is_not_a_missed_prediction() {
        for r in qemu_run() {
            let efivars = find(&r, "platform:efivars");
            let o = efivars.observed.clone().unwrap_or_default();
            assert_eq!(o.modules, ["efi_pstore"]);
            assert_eq!(o.modules_without_driver, ["efi_pstore"]);
            assert_eq!(
                efivars.agreement(&own(&r)),
                Some(Agreement::LoadedWithoutDriver)
            );
            assert!(!disagrees(efivars, &own(&r)));
            // Regression: read without the mark (reports before it), efi_pstore was a driver
            // predicted that did not bind.
            let mut old = efivars.clone();
            if let Some(o) = old.observed.as_mut() {
                o.modules_without_driver.clear();
            }
            assert_eq!(old.agreement(&own(&r)), Some(Agreement::PredictedNotBound));
            // intel_agp is built in (6.1 by inference, 7.3.4 by its recorded alias), its PCI
            // driver registered at boot and left Q35's host bridge alone: still a miss.
            let agp = find(&r, "pci:v00008086d000029C0");
            let o = agp.observed.clone().unwrap_or_default();
            assert!(
                o.modules.is_empty() && o.modules_without_driver.is_empty(),
                "{o:?}"
            );
            let predicted: Vec<&str> = agp.coverage[&own(&r)].predicted().collect();
            assert_eq!(predicted, ["intel_agp"]);
            assert_eq!(agp.agreement(&own(&r)), Some(Agreement::PredictedNotBound));
        }
        // 6.1's ACPI button driver has no owner, so no /sys/module/button/drivers: it still
        // counts as registering a driver (the drivers in sysfs before and after its load).
        let run = qemu_run();
        let button = find(&run[0], "acpi:LNXPWRBN:");
        assert_eq!(button.driver.as_deref(), Some("button"));
        let o = button.observed.clone().unwrap_or_default();
        assert!(o.modules_without_driver.is_empty(), "{o:?}");
    }

    #[test]
    fn a_loadable_driver_never_counts_as_built_in() {
        // Without the observed built-in mark, an unpredicted driver is a miss, whatever its
        // name (reports written before the mark existed read the same as before).
        let d = device(Some("serial8250"), None, &[]);
        assert_eq!(d.agreement("k"), Some(Agreement::BoundNotPredicted));
        let mut tally = Tally::default();
        tally.add(&d, "k");
        assert_eq!(tally.accuracy(), Some(0.0));
    }
}
