//! [`Modalias`]: a device's modalias read once into its bus and, on the buses whose ids the
//! rules use (PCI, USB, HID, virtio), its ids. The probe reading sysfs, the report checks, the
//! kernel engine and the server all read modaliases through it.
//!
//! The layouts are the kernel's (`file2alias.c` / the buses' `uevent`): fixed-width upper-case
//! hex fields behind one- or two-letter tags. A digit written `?` is unknown (partial
//! identifiers, Qubes HCL lines): a field with one is [`None`], the rest of the ids still read.

use std::fmt;

/// A modalias split into its bus and ids. Borrowed from the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modalias<'a> {
    text: &'a str,
    bus: &'a str,
    ids: Ids,
}

/// Why a text is not a modalias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a modalias starts with its bus and a colon, like `pci:` or `usb:`")]
pub struct NotAModalias;

/// The ids a modalias carries, on the buses whose layout is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ids {
    Pci(PciIds),
    Usb(UsbIds),
    Hid(HidIds),
    Virtio(VirtioIds),
    /// Another bus, or a known bus whose text does not follow the kernel's layout.
    None,
}

/// `pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X`. `None`: unknown (`?`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PciIds {
    pub vendor: Option<u32>,
    pub device: Option<u32>,
    pub subvendor: Option<u32>,
    pub subdevice: Option<u32>,
    pub class: Option<u8>,
    pub subclass: Option<u8>,
    pub prog_if: Option<u8>,
}

/// `usb:v%04Xp%04Xd%04Xdc%02Xdsc%02Xdp%02X` then, for an interface,
/// `ic%02Xisc%02Xip%02Xin%02X`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsbIds {
    pub vendor: Option<u32>,
    pub product: Option<u32>,
    pub bcd_device: Option<u32>,
    pub device_class: Option<u8>,
    pub device_subclass: Option<u8>,
    pub device_protocol: Option<u8>,
    /// Present on an interface's modalias, absent on a device's.
    pub interface: Option<UsbInterfaceIds>,
}

/// The interface part of a USB modalias.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsbInterfaceIds {
    pub class: Option<u8>,
    pub subclass: Option<u8>,
    pub protocol: Option<u8>,
    pub number: Option<u8>,
}

/// `hid:b%04Xg%04Xv%08Xp%08X`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HidIds {
    /// The transport: [`HidIds::USB`], [`HidIds::BLUETOOTH`], [`HidIds::I2C`], ...
    pub bus: Option<u16>,
    pub group: Option<u16>,
    pub vendor: Option<u32>,
    pub product: Option<u32>,
}

impl HidIds {
    /// `BUS_USB` of `linux/input.h`.
    pub const USB: u16 = 0x03;
    /// `BUS_BLUETOOTH`.
    pub const BLUETOOTH: u16 = 0x05;
    /// `BUS_I8042` (PS/2 keyboards and touchpads behind the i8042 controller).
    pub const I8042: u16 = 0x11;
    /// `BUS_I2C` (I2C touchpads and touchscreens).
    pub const I2C: u16 = 0x18;
}

/// `virtio:d%08Xv%08X`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VirtioIds {
    pub device: Option<u32>,
    pub vendor: Option<u32>,
}

impl<'a> Modalias<'a> {
    /// Reads a modalias. The bus is the text before the first `:`, in lower-case letters,
    /// digits, `_` and `-` (`pci`, `xen-backend`, `fsl-mc`); any other text is refused.
    pub fn parse(text: &'a str) -> Result<Self, NotAModalias> {
        let (bus, rest) = text.split_once(':').ok_or(NotAModalias)?;
        let ok = !bus.is_empty()
            && bus
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return Err(NotAModalias);
        }
        let ids = match bus {
            "pci" => PciIds::parse(rest).map_or(Ids::None, Ids::Pci),
            "usb" => UsbIds::parse(rest).map_or(Ids::None, Ids::Usb),
            "hid" => HidIds::parse(rest).map_or(Ids::None, Ids::Hid),
            "virtio" => VirtioIds::parse(rest).map_or(Ids::None, Ids::Virtio),
            _ => Ids::None,
        };
        Ok(Modalias { text, bus, ids })
    }

    /// The whole text.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// `pci`, `usb`, `hid`, `acpi`, `platform`, `virtio`, ...
    pub fn bus(&self) -> &'a str {
        self.bus
    }

    pub fn ids(&self) -> &Ids {
        &self.ids
    }

    pub fn pci(&self) -> Option<&PciIds> {
        match &self.ids {
            Ids::Pci(p) => Some(p),
            _ => None,
        }
    }

    pub fn usb(&self) -> Option<&UsbIds> {
        match &self.ids {
            Ids::Usb(u) => Some(u),
            _ => None,
        }
    }

    pub fn hid(&self) -> Option<&HidIds> {
        match &self.ids {
            Ids::Hid(h) => Some(h),
            _ => None,
        }
    }

    pub fn virtio(&self) -> Option<&VirtioIds> {
        match &self.ids {
            Ids::Virtio(v) => Some(v),
            _ => None,
        }
    }

    /// Vendor and device (product) ids of a PCI, USB or HID modalias, when both are known:
    /// what names a device kind.
    pub fn vendor_device(&self) -> Option<(u32, u32)> {
        match &self.ids {
            Ids::Pci(p) => p.vendor.zip(p.device),
            Ids::Usb(u) => u.vendor.zip(u.product),
            Ids::Hid(h) => h.vendor.zip(h.product),
            Ids::Virtio(_) | Ids::None => None,
        }
    }
}

impl fmt::Display for Modalias<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

/// A 16-bit id as reports write it: four lower-case hex digits (`8086`). None above 16 bits.
pub fn hex4(id: u32) -> Option<String> {
    (id <= 0xffff).then(|| format!("{id:04x}"))
}

/// Reads tagged fixed-width hex fields off the front of a text.
struct Fields<'a>(&'a str);

impl Fields<'_> {
    /// `tag` then `width` hex digits: `Some(None)` when a digit is `?`, None when the text does
    /// not follow the layout.
    fn hex(&mut self, tag: &str, width: usize) -> Option<Option<u32>> {
        let rest = self.0.strip_prefix(tag)?;
        let digits = rest.get(..width)?;
        self.0 = rest.get(width..)?;
        if digits.contains('?') {
            return digits
                .bytes()
                .all(|b| b == b'?' || b.is_ascii_hexdigit())
                .then_some(None);
        }
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok().map(Some)
    }

    fn byte(&mut self, tag: &str) -> Option<Option<u8>> {
        self.hex(tag, 2)
            .map(|v| v.and_then(|v| u8::try_from(v).ok()))
    }

    fn short(&mut self, tag: &str) -> Option<Option<u16>> {
        self.hex(tag, 4)
            .map(|v| v.and_then(|v| u16::try_from(v).ok()))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl PciIds {
    fn parse(rest: &str) -> Option<Self> {
        let mut f = Fields(rest);
        let ids = PciIds {
            vendor: f.hex("v", 8)?,
            device: f.hex("d", 8)?,
            subvendor: f.hex("sv", 8)?,
            subdevice: f.hex("sd", 8)?,
            class: f.byte("bc")?,
            subclass: f.byte("sc")?,
            prog_if: f.byte("i")?,
        };
        f.is_empty().then_some(ids)
    }
}

impl UsbIds {
    fn parse(rest: &str) -> Option<Self> {
        let mut f = Fields(rest);
        let mut ids = UsbIds {
            vendor: f.hex("v", 4)?,
            product: f.hex("p", 4)?,
            bcd_device: f.hex("d", 4)?,
            device_class: f.byte("dc")?,
            device_subclass: f.byte("dsc")?,
            device_protocol: f.byte("dp")?,
            interface: None,
        };
        if !f.is_empty() {
            ids.interface = Some(UsbInterfaceIds {
                class: f.byte("ic")?,
                subclass: f.byte("isc")?,
                protocol: f.byte("ip")?,
                number: f.byte("in")?,
            });
        }
        f.is_empty().then_some(ids)
    }
}

impl HidIds {
    fn parse(rest: &str) -> Option<Self> {
        let mut f = Fields(rest);
        let ids = HidIds {
            bus: f.short("b")?,
            group: f.short("g")?,
            vendor: f.hex("v", 8)?,
            product: f.hex("p", 8)?,
        };
        f.is_empty().then_some(ids)
    }
}

impl VirtioIds {
    fn parse(rest: &str) -> Option<Self> {
        let mut f = Fields(rest);
        let ids = VirtioIds {
            device: f.hex("d", 8)?,
            vendor: f.hex("v", 8)?,
        };
        f.is_empty().then_some(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buses_follow_the_report_rule() {
        for (m, bus) in [
            (
                "pci:v00008086d000024FDsv00008086sd00000010bc02sc80i00",
                "pci",
            ),
            ("xen-backend:vbd", "xen-backend"),
            ("fsl-mc:v00001957dDPRC", "fsl-mc"),
            ("acpi:PNP0C0A:", "acpi"),
            ("of:NxT<NULL>", "of"),
        ] {
            assert_eq!(Modalias::parse(m).map(|m| m.bus()), Ok(bus), "{m}");
        }
        for bad in ["", "pci", ":x", "PCI:v", "dmi*:bvn", "a b:c"] {
            assert_eq!(Modalias::parse(bad), Err(NotAModalias), "{bad:?}");
        }
    }

    #[test]
    fn pci_ids_known_and_unknown() {
        let m = Modalias::parse("pci:v00008086d000024FDsv00008086sd00000010bc02sc80i00").unwrap();
        let p = m.pci().unwrap();
        assert_eq!((p.vendor, p.device), (Some(0x8086), Some(0x24fd)));
        assert_eq!((p.subvendor, p.subdevice), (Some(0x8086), Some(0x10)));
        assert_eq!(
            (p.class, p.subclass, p.prog_if),
            (Some(2), Some(0x80), Some(0))
        );
        let m = Modalias::parse("pci:v00008086d0000A7A0sv????????sd????????bc03sc??i??").unwrap();
        let p = m.pci().unwrap();
        assert_eq!(m.vendor_device(), Some((0x8086, 0xa7a0)));
        assert_eq!((p.subvendor, p.class, p.subclass), (None, Some(3), None));
        // Not the kernel's layout: the bus stays, the ids do not.
        let m = Modalias::parse("pci:v0000").unwrap();
        assert_eq!((m.bus(), m.pci()), ("pci", None));
        assert!(
            Modalias::parse("pci:v00008086d000024FDsv00008086sd00000010bc02sc80i00x")
                .unwrap()
                .pci()
                .is_none()
        );
    }

    #[test]
    fn usb_hid_virtio_ids() {
        let m = Modalias::parse("usb:v046DpC52Bd1211dc00dsc00dp00ic03isc01ip01in00").unwrap();
        let u = m.usb().unwrap();
        assert_eq!(m.vendor_device(), Some((0x046d, 0xc52b)));
        assert_eq!(u.interface.and_then(|i| i.class), Some(3));
        let dev = Modalias::parse("usb:v1D6Bp0002d0606dc09dsc00dp01").unwrap();
        assert_eq!(dev.usb().unwrap().interface, None);
        assert_eq!(dev.usb().unwrap().device_class, Some(9));
        let h = Modalias::parse("hid:b0003g0001v0000046Dp0000C52B").unwrap();
        assert_eq!(h.hid().unwrap().bus, Some(HidIds::USB));
        assert_eq!(h.vendor_device(), Some((0x046d, 0xc52b)));
        let v = Modalias::parse("virtio:d00000001v00001AF4").unwrap();
        assert_eq!(v.virtio().unwrap().device, Some(1));
        assert_eq!(Modalias::parse("virtio:dZZ").unwrap().virtio(), None);
        assert_eq!(hex4(0x8086).as_deref(), Some("8086"));
        assert_eq!(hex4(0x1_0000), None);
    }
}
