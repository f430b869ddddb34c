//! How machines and devices are grouped and addressed: a machine model by its brand and model
//! slugs, a device kind by its bus and `vendor:device`.

use hcl_data::Modalias;
use hcl_data::modalias::hex4;
use serde::Serialize;

/// A machine model: brand and model slugs, the URL `/machines/{brand}/{model}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct MachineKey {
    pub brand: String,
    pub model: String,
}

impl MachineKey {
    pub fn url(&self) -> String {
        format!("/machines/{}/{}", self.brand, self.model)
    }
}

/// A device kind: bus plus `vendor:device` when the ids are known, else the modalias.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct DeviceKey {
    pub bus: String,
    pub id: String,
}

impl DeviceKey {
    /// The key of a report's device: its own vendor and device fields, else its modalias's.
    pub fn of(d: &hcl_data::Device) -> DeviceKey {
        let modalias = Modalias::parse(&d.modalias).ok();
        let bus = if d.bus.is_empty() {
            modalias.map(|m| m.bus().to_owned()).unwrap_or_default()
        } else {
            d.bus.clone()
        };
        let ids = match (d.vendor.as_deref(), d.device.as_deref()) {
            (Some(v), Some(p)) => norm(v).zip(norm(p)),
            _ => None,
        }
        .or_else(|| {
            let (v, p) = modalias?.vendor_device()?;
            hex4(v).zip(hex4(p))
        });
        match ids {
            Some((v, p)) => DeviceKey {
                bus,
                id: format!("{v}:{p}"),
            },
            None => DeviceKey {
                bus,
                id: d.modalias.clone(),
            },
        }
    }

    /// True when `id` is `vendor:device` (and so has a device page).
    pub fn has_page(&self) -> bool {
        is_vendor_device(&self.id)
    }

    pub fn url(&self) -> Option<String> {
        self.has_page().then(|| format!("/devices/{}", self.id))
    }
}

/// A vendor or device field of a report as four lower-case hex digits: `0x8086` and the 8-wide
/// `00008086` of modalias fields give `8086`.
fn norm(s: &str) -> Option<String> {
    let s = s.trim().trim_start_matches("0x").to_ascii_lowercase();
    // `get`, not slicing: an uploaded id may hold multibyte characters.
    let cut = s.len().saturating_sub(4);
    let s = match (s.get(..cut), s.get(cut..)) {
        (Some(head), Some(tail)) if !head.is_empty() && head.bytes().all(|c| c == b'0') => {
            tail.to_owned()
        }
        _ => s,
    };
    (s.len() == 4 && s.bytes().all(|c| c.is_ascii_hexdigit())).then_some(s)
}

fn is_vendor_device(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 9
        && b[4] == b':'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_hexdigit())
}

/// URL-safe lowercase slug: ASCII letters and digits, other runs become one `-`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 80 {
            break;
        }
    }
    let t = out.trim_matches('-');
    if t.is_empty() {
        "unknown".to_owned()
    } else {
        t.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_url_safe_and_never_empty() {
        assert_eq!(slug("Lenovo"), "lenovo");
        assert_eq!(
            slug(" ThinkPad X1 Carbon (Gen 9) "),
            "thinkpad-x1-carbon-gen-9"
        );
        assert_eq!(slug("<script>x</script>"), "script-x-script");
        assert_eq!(slug("日本"), "unknown");
        assert!(slug(&"a".repeat(500)).len() <= 80);
    }

    #[test]
    fn multibyte_vendor_ids_do_not_panic() {
        // Regression: the id normaliser sliced at a byte offset inside a character.
        for v in ["ü123", "0000€", "€€€€€", "00008086", "0x8086", ""] {
            let d = hcl_data::Device {
                bus: "pci".into(),
                modalias: "pci:v€".into(),
                vendor: Some(v.into()),
                device: Some("ä0000".into()),
                ..Default::default()
            };
            let k = DeviceKey::of(&d);
            assert!(!k.has_page(), "{v}: {k:?}");
        }
        let d = hcl_data::Device {
            bus: "pci".into(),
            modalias: "x".into(),
            vendor: Some("00008086".into()),
            device: Some("0x0166".into()),
            ..Default::default()
        };
        assert_eq!(DeviceKey::of(&d).id, "8086:0166");
    }

    #[test]
    fn device_keys_come_from_ids_or_modalias() {
        let d = hcl_data::Device {
            bus: "pci".into(),
            modalias: "pci:v00008086d0000A7A0sv????????sd????????bc??sc??i??".into(),
            partial: true,
            ..Default::default()
        };
        assert_eq!(DeviceKey::of(&d).id, "8086:a7a0");
        let d = hcl_data::Device {
            bus: "usb".into(),
            modalias: "usb:v046DpC52Bd1211dc00dsc00dp00ic03isc01ip01in00".into(),
            ..Default::default()
        };
        assert_eq!(DeviceKey::of(&d).id, "046d:c52b");
        let d = hcl_data::Device {
            bus: "acpi".into(),
            modalias: "acpi:PNP0C0A:".into(),
            ..Default::default()
        };
        assert_eq!(DeviceKey::of(&d).id, "acpi:PNP0C0A:");
        assert!(!DeviceKey::of(&d).has_page());
    }
}
