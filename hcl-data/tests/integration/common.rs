//! Helpers shared by the test modules.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use hcl_data::hcl_files::{self, HclFile};
use hcl_data::{
    Coverage, Device, KernelSummary, Origin, Report, Role, SCHEMA_VERSION, System, Tri, Verdict,
};

/// The real Qubes HCL kept in the repository (`data/qubes-hcl/qubes-hcl.tar.zst`), read once.
pub fn hcl_files() -> &'static [HclFile] {
    static FILES: OnceLock<Vec<HclFile>> = OnceLock::new();
    FILES.get_or_init(|| {
        let archive =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/qubes-hcl/qubes-hcl.tar.zst");
        hcl_files::read(&archive).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// The names of the HCL's `.yml` reports, in name order.
pub fn hcl_names() -> Vec<&'static str> {
    hcl_files()
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| n.ends_with(".yml"))
        .collect()
}

/// The bytes of one HCL report.
pub fn hcl_bytes(name: &str) -> &'static [u8] {
    let file = hcl_files()
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no {name} in the HCL"));
    file.bytes
        .as_deref()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The text of one HCL report.
pub fn hcl_text(name: &str) -> String {
    String::from_utf8(hcl_bytes(name).to_vec()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A realistic probe report: a ThinkPad-like laptop with a GPU, Wi-Fi and a USB controller.
pub fn sample_report() -> Report {
    let cov = |verdict| Coverage {
        modules: vec!["i915".into()],
        verdict,
        reason: "i915 matches".into(),
        ..Coverage::default()
    };
    let dev =
        |modalias: &str, category: &str, role, vendor: &str, device: &str, class: &str| Device {
            bus: modalias.split(':').next().unwrap_or_default().to_string(),
            modalias: modalias.into(),
            sysfs_path: Some("/sys/devices/pci0000:00/0000:00:02.0".into()),
            category: category.into(),
            role,
            vendor: Some(vendor.into()),
            device: Some(device.into()),
            class: Some(class.into()),
            revision: Some("04".into()),
            vendor_name: Some("Intel Corporation".into()),
            device_name: Some("Raptor Lake-P [Iris Xe Graphics]".into()),
            driver: Some("i915".into()),
            coverage: BTreeMap::from([
                ("debian-12".to_string(), cov(Verdict::NoDriver)),
                ("debian-13".to_string(), cov(Verdict::Supported)),
            ]),
            ..Device::default()
        };
    Report {
        schema_version: SCHEMA_VERSION,
        report_id: "5f0c2a9e7b1d4e3f".into(),
        generated_on: "2026-11-20".into(),
        generator: "hcl-probe 0.1.0".into(),
        origin: Origin::Probe,
        system: System {
            machine_type: Some("laptop".into()),
            brand: Some("LENOVO".into()),
            model: Some("ThinkPad X1 Carbon Gen 11".into()),
            bios: Some("LENOVO N3XET53W (1.28) 2024-03-01".into()),
            cpu: Some("13th Gen Intel(R) Core(TM) i7-1365U".into()),
            virtualization: Some("vt-x".into()),
            hvm: Tri::Yes,
            slat: Tri::Yes,
            iommu: Tri::Yes,
            interrupt_remapping: Tri::Yes,
            tpm: Some("2.0".into()),
            memory_mib: Some(31_744),
            boot_mode: Some("uefi".into()),
            secure_boot: Tri::No,
            running_kernel: Some("6.12.48-1.fc41.qubes.x86_64".into()),
            distro: Some("Qubes OS 4.2".into()),
            hcl_text: None,
            ..System::default()
        },
        devices: vec![
            dev(
                "pci:v00008086d0000A7A1sv000017AAsd000022E4bc03sc00i00",
                "gpu",
                Role::Dom0,
                "8086",
                "a7a1",
                "030000",
            ),
            dev(
                "pci:v00008086d000051F1sv00008086sd00000094bc02sc80i00",
                "network",
                Role::Assignable,
                "8086",
                "51f1",
                "028000",
            ),
            dev(
                "pci:v00008086d0000A71Esv000017AAsd000022E4bc0Csc03i30",
                "usb-controller",
                Role::Dom0,
                "8086",
                "a71e",
                "0c0330",
            ),
        ],
        kernels: BTreeMap::from([(
            "debian-13".to_string(),
            KernelSummary {
                dom0_total: 2,
                dom0_covered: 2,
                assignable_total: 1,
                assignable_covered: 1,
                dom0_ok: true,
                ..Default::default()
            },
        )]),
        qubes: None,
    }
}

/// The sample report as a JSON value, for tests that break one field.
pub fn sample_value() -> serde_json::Value {
    serde_json::to_value(sample_report()).expect("serialisable")
}
