//! Category and role of each device: what dom0 cannot do without, and what goes to a VM.

use hcl_data::Role;

use crate::sysfs::{Found, hid_bus};

/// Set `category` and `role` on every device. The USB controller that carries a keyboard is
/// dom0's; other USB controllers are assignable (to sys-usb).
pub fn classify(found: &mut [Found]) {
    let keyboard_paths: Vec<String> = found
        .iter()
        .filter(|f| f.usb_keyboard)
        .filter_map(|f| f.device.sysfs_path.clone())
        .collect();
    for f in found.iter_mut() {
        let (category, role) = category_of(f);
        f.device.category = category.to_owned();
        f.device.role = role;
        if category == "usb-controller" {
            let prefix = format!("{}/", f.device.sysfs_path.as_deref().unwrap_or("\0"));
            if keyboard_paths.iter().any(|k| k.starts_with(&prefix)) {
                f.device.role = Role::Dom0;
            }
        }
    }
}

fn category_of(f: &Found) -> (&'static str, Role) {
    let d = &f.device;
    let class = d.class.as_deref().unwrap_or("");
    match d.bus.as_str() {
        "pci" => pci_category(class),
        "usb" if d.usb.as_ref().is_some_and(|u| u.kind == "device") => {
            // The device row summarises its interfaces; hubs and composite devices say little.
            match class.get(..2) {
                Some("09") => ("usb-hub", Role::Other),
                _ => ("usb-device", Role::Other),
            }
        }
        "usb" => usb_interface_category(class),
        "hid" => match hid_bus(&d.modalias) {
            Some("0003") | Some("0018") | Some("0011") => ("input", Role::Dom0),
            // Bluetooth HID depends on the Bluetooth adapter, itself assignable.
            _ => ("input", Role::Assignable),
        },
        "serio" => ("input", Role::Dom0),
        "input" => ("input-event", Role::Other),
        "hdaudio" => ("audio", Role::Assignable),
        "sdio" => ("wifi", Role::Assignable),
        "virtio" => virtio_category(&d.modalias),
        "nvme" | "scsi" | "mmc" => ("storage", Role::Dom0),
        "cpu" => ("cpu", Role::Other),
        "acpi" | "platform" | "of" | "pnp" | "wmi" | "dmi" => ("platform", Role::Other),
        "i2c" | "spi" | "serial" | "serial_base" => ("bus-device", Role::Other),
        _ => ("other", Role::Other),
    }
}

/// PCI class code `CCSSPP` (hex).
fn pci_category(class: &str) -> (&'static str, Role) {
    match (class.get(..2), class.get(2..4)) {
        (Some("03"), _) => ("gpu", Role::Dom0),
        (Some("01"), _) => ("storage", Role::Dom0),
        (Some("02"), Some("80")) => ("wifi", Role::Assignable),
        (Some("02"), _) => ("network", Role::Assignable),
        (Some("0d"), _) => ("wireless", Role::Assignable),
        (Some("04"), _) => ("audio", Role::Assignable),
        (Some("0c"), Some("03")) => ("usb-controller", Role::Assignable),
        (Some("0c"), Some("05")) => ("smbus", Role::Other),
        (Some("0c"), Some("80")) | (Some("0c"), Some("0a")) => ("thunderbolt", Role::Other),
        // The host bridge is what the Qubes HCL calls the chipset.
        (Some("06"), Some("00")) => ("chipset", Role::Other),
        (Some("06"), _) => ("bridge", Role::Other),
        (Some("08"), _) => ("system", Role::Other),
        (Some("07"), _) => ("communication", Role::Other),
        (Some("10"), _) | (Some("11"), _) | (Some("12"), _) => ("other", Role::Other),
        (Some("09"), _) => ("input", Role::Dom0),
        (Some("13"), _) => ("other", Role::Other),
        _ => ("other", Role::Other),
    }
}

/// USB interface class `CCSSPP`.
fn usb_interface_category(class: &str) -> (&'static str, Role) {
    match class.get(..2) {
        Some("03") => ("input", Role::Dom0),
        Some("08") => ("storage", Role::Assignable),
        Some("09") => ("usb-hub", Role::Other),
        Some("01") => ("audio", Role::Assignable),
        Some("02") | Some("0a") => ("network", Role::Assignable),
        Some("0e") => ("camera", Role::Assignable),
        Some("e0") => ("wireless", Role::Assignable),
        Some("0b") => ("smartcard", Role::Assignable),
        Some("07") => ("printer", Role::Assignable),
        // Vendor-specific: Wi-Fi dongles, serial adapters, fingerprint readers, ...
        Some("ff") => ("vendor-specific", Role::Assignable),
        _ => ("usb-other", Role::Assignable),
    }
}

/// `virtio:d00000001v00001AF4`: virtio device ids from the virtio specification.
fn virtio_category(modalias: &str) -> (&'static str, Role) {
    let id = modalias
        .strip_prefix("virtio:d")
        .and_then(|s| s.get(..8))
        .and_then(|s| u32::from_str_radix(s, 16).ok());
    match id {
        Some(1) => ("network", Role::Assignable),
        Some(2) | Some(8) => ("storage", Role::Dom0),
        Some(16) => ("gpu", Role::Dom0),
        Some(18) => ("input", Role::Dom0),
        Some(25) => ("audio", Role::Assignable),
        _ => ("virtio", Role::Other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hcl_data::Device;

    fn pci(class: &str, path: &str) -> Found {
        Found {
            device: Device {
                bus: "pci".into(),
                class: Some(class.into()),
                sysfs_path: Some(path.into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn keyboard_controller_is_dom0_others_assignable() {
        let mut found = vec![
            pci("0c0330", "/sys/devices/pci0000:00/0000:00:14.0"),
            pci("0c0330", "/sys/devices/pci0000:00/0000:00:14.1"),
            pci("030000", "/sys/devices/pci0000:00/0000:00:02.0"),
            pci(
                "028000",
                "/sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0",
            ),
            pci("060400", "/sys/devices/pci0000:00/0000:00:1c.0"),
            Found {
                usb_keyboard: true,
                device: Device {
                    bus: "usb".into(),
                    class: Some("030101".into()),
                    sysfs_path: Some(
                        "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0".into(),
                    ),
                    usb: Some(hcl_data::UsbInfo {
                        kind: "interface".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            },
        ];
        classify(&mut found);
        let roles: Vec<_> = found
            .iter()
            .map(|f| (f.device.category.as_str(), f.device.role))
            .collect();
        assert_eq!(
            roles,
            vec![
                ("usb-controller", Role::Dom0),
                ("usb-controller", Role::Assignable),
                ("gpu", Role::Dom0),
                ("wifi", Role::Assignable),
                ("bridge", Role::Other),
                ("input", Role::Dom0),
            ]
        );
    }

    #[test]
    fn virtio_ids() {
        assert_eq!(virtio_category("virtio:d00000001v00001AF4").0, "network");
        assert_eq!(virtio_category("virtio:d00000002v00001AF4").0, "storage");
        assert_eq!(virtio_category("virtio:dZZ").0, "virtio");
    }
}
