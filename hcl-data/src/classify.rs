//! What a device is ([`Category`]) and who needs it ([`Role`]): the one rule the probe applies
//! to what it finds in sysfs and the Qubes HCL import applies to its lines.

pub use crate::category::Category;
use crate::modalias::{HidIds, Modalias};
use crate::report::Device;
use crate::verdict::Role;

/// Category and role of every device (or row holding one). The USB controller that carries a
/// keyboard is dom0's; other USB controllers are assignable (to sys-usb).
pub fn classify_all<T: AsRef<Device> + AsMut<Device>>(rows: &mut [T]) {
    let keyboards: Vec<String> = rows
        .iter()
        .map(AsRef::as_ref)
        .filter(|d| d.is_usb_keyboard())
        .filter_map(|d| d.sysfs_path.clone())
        .collect();
    for row in rows.iter_mut() {
        let d = row.as_mut();
        let (category, role) = classify(d);
        d.role = role;
        if category == Category::UsbController {
            let prefix = format!("{}/", d.sysfs_path.as_deref().unwrap_or("\0"));
            if keyboards.iter().any(|k| k.starts_with(&prefix)) {
                d.role = Role::Dom0;
            }
        }
        d.category = category;
    }
}

/// Category and role of one device, from its bus, class and modalias.
pub fn classify(d: &Device) -> (Category, Role) {
    let class = d.class.as_deref().unwrap_or("");
    let modalias = Modalias::parse(&d.modalias).ok();
    match d.bus.as_str() {
        "pci" => pci_class(class),
        "usb" if d.usb.as_ref().is_some_and(|u| u.kind.is_device()) => {
            // The device row summarises its interfaces; hubs and composite devices say little.
            match class.get(..2) {
                Some("09") => (Category::UsbHub, Role::Other),
                _ => (Category::UsbDevice, Role::Other),
            }
        }
        "usb" => usb_interface_class(class),
        "hid" => {
            let bus = modalias.and_then(|m| m.hid().and_then(|h| h.bus));
            match bus {
                Some(HidIds::USB | HidIds::I2C | HidIds::I8042) => (Category::Input, Role::Dom0),
                // Bluetooth HID depends on the Bluetooth adapter, itself assignable.
                _ => (Category::Input, Role::Assignable),
            }
        }
        "serio" => (Category::Input, Role::Dom0),
        "input" => (Category::InputEvent, Role::Other),
        "hdaudio" => (Category::Audio, Role::Assignable),
        "sdio" => (Category::Wifi, Role::Assignable),
        "virtio" => virtio_device(modalias.and_then(|m| m.virtio().and_then(|v| v.device))),
        "nvme" | "scsi" | "mmc" => (Category::Storage, Role::Dom0),
        "cpu" => (Category::Cpu, Role::Other),
        "acpi" | "platform" | "of" | "pnp" | "wmi" | "dmi" => (Category::Platform, Role::Other),
        "i2c" | "spi" | "serial" | "serial_base" => (Category::BusDevice, Role::Other),
        _ => (Category::Other, Role::Other),
    }
}

/// A PCI device by its class code `CCSSPP` (hex).
pub fn pci_class(class: &str) -> (Category, Role) {
    match (class.get(..2), class.get(2..4)) {
        (Some("03"), _) => (Category::Gpu, Role::Dom0),
        (Some("01"), _) => (Category::Storage, Role::Dom0),
        (Some("02"), Some("80")) => (Category::Wifi, Role::Assignable),
        (Some("02"), _) => (Category::Network, Role::Assignable),
        (Some("0d"), _) => (Category::Wireless, Role::Assignable),
        (Some("04"), _) => (Category::Audio, Role::Assignable),
        (Some("0c"), Some("03")) => (Category::UsbController, Role::Assignable),
        (Some("0c"), Some("05")) => (Category::Smbus, Role::Other),
        (Some("0c"), Some("80")) | (Some("0c"), Some("0a")) => (Category::Thunderbolt, Role::Other),
        (Some("06"), Some("00")) => (Category::Chipset, Role::Other),
        (Some("06"), _) => (Category::Bridge, Role::Other),
        (Some("08"), _) => (Category::System, Role::Other),
        (Some("07"), _) => (Category::Communication, Role::Other),
        (Some("09"), _) => (Category::Input, Role::Dom0),
        _ => (Category::Other, Role::Other),
    }
}

/// A USB interface by its class `CCSSPP`.
pub fn usb_interface_class(class: &str) -> (Category, Role) {
    match class.get(..2) {
        Some("03") => (Category::Input, Role::Dom0),
        Some("08") => (Category::Storage, Role::Assignable),
        Some("09") => (Category::UsbHub, Role::Other),
        Some("01") => (Category::Audio, Role::Assignable),
        Some("02") | Some("0a") => (Category::Network, Role::Assignable),
        Some("0e") => (Category::Camera, Role::Assignable),
        Some("e0") => (Category::Wireless, Role::Assignable),
        Some("0b") => (Category::Smartcard, Role::Assignable),
        Some("07") => (Category::Printer, Role::Assignable),
        // Vendor-specific: Wi-Fi dongles, serial adapters, fingerprint readers, ...
        Some("ff") => (Category::VendorSpecific, Role::Assignable),
        _ => (Category::UsbOther, Role::Assignable),
    }
}

/// A virtio device by its id (virtio specification, "Device Types").
fn virtio_device(id: Option<u32>) -> (Category, Role) {
    match id {
        Some(1) => (Category::Network, Role::Assignable),
        Some(2) | Some(8) => (Category::Storage, Role::Dom0),
        Some(16) => (Category::Gpu, Role::Dom0),
        Some(18) => (Category::Input, Role::Dom0),
        Some(25) => (Category::Audio, Role::Assignable),
        _ => (Category::Virtio, Role::Other),
    }
}

/// A device named on a line of a Qubes HCL field (`gpu`, `network`, `chipset`).
pub fn hcl_field(field: &str) -> (Category, Role) {
    match field {
        "gpu" => (Category::Gpu, Role::Dom0),
        "network" => (Category::Network, Role::Assignable),
        _ => (Category::Chipset, Role::Other),
    }
}

impl AsRef<Device> for Device {
    fn as_ref(&self) -> &Device {
        self
    }
}

impl AsMut<Device> for Device {
    fn as_mut(&mut self) -> &mut Device {
        self
    }
}

impl Device {
    /// A USB HID interface with the boot keyboard protocol (class `03`, protocol `01`).
    pub fn is_usb_keyboard(&self) -> bool {
        let class = self.class.as_deref().unwrap_or("");
        self.usb.as_ref().is_some_and(|u| u.kind.is_interface())
            && class.get(..2) == Some("03")
            && class.get(4..6) == Some("01")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::UsbInfo;

    fn pci(class: &str, path: &str) -> Device {
        Device {
            bus: "pci".into(),
            class: Some(class.into()),
            sysfs_path: Some(path.into()),
            ..Default::default()
        }
    }

    #[test]
    fn keyboard_controller_is_dom0_others_assignable() {
        let mut devices = vec![
            pci("0c0330", "/sys/devices/pci0000:00/0000:00:14.0"),
            pci("0c0330", "/sys/devices/pci0000:00/0000:00:14.1"),
            pci("030000", "/sys/devices/pci0000:00/0000:00:02.0"),
            pci(
                "028000",
                "/sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0",
            ),
            pci("060400", "/sys/devices/pci0000:00/0000:00:1c.0"),
            Device {
                bus: "usb".into(),
                class: Some("030101".into()),
                sysfs_path: Some("/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0".into()),
                usb: Some(UsbInfo {
                    kind: "interface".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ];
        classify_all(&mut devices);
        let roles: Vec<_> = devices
            .iter()
            .map(|d| (d.category.as_str(), d.role))
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
    fn virtio_and_hid_from_the_modalias() {
        let dev = |bus: &str, modalias: &str| Device {
            bus: bus.into(),
            modalias: modalias.into(),
            ..Default::default()
        };
        assert_eq!(
            classify(&dev("virtio", "virtio:d00000001v00001AF4")).0,
            "network"
        );
        assert_eq!(
            classify(&dev("virtio", "virtio:d00000002v00001AF4")).0,
            "storage"
        );
        assert_eq!(classify(&dev("virtio", "virtio:dZZ")).0, "virtio");
        let usb_hid = dev("hid", "hid:b0003g0001v0000046Dp0000C52B");
        assert_eq!(classify(&usb_hid), (Category::Input, Role::Dom0));
        let bt_hid = dev("hid", "hid:b0005g0001v0000046Dp0000C52B");
        assert_eq!(classify(&bt_hid), (Category::Input, Role::Assignable));
    }

    #[test]
    fn categories_keep_unknown_spellings() {
        assert_eq!(Category::from("usb-controller"), Category::UsbController);
        assert_eq!(Category::from(""), Category::Unset);
        let c = Category::from("quantum");
        assert_eq!((c.as_str(), c == "quantum"), ("quantum", true));
        assert!(Category::Bridge.needs_no_driver() && !Category::Gpu.needs_no_driver());
    }
}
