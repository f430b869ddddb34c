//! The report schema: reading, the precise errors, the content id, the privacy check.

use hcl_data::{Error, Report, SCHEMA_VERSION, privacy_violations_in_json};
use serde_json::json;

use crate::common::{sample_report, sample_value};

fn read(v: &serde_json::Value) -> Result<Report, Error> {
    Report::from_json(&serde_json::to_vec(v).unwrap())
}

#[test]
fn json_round_trip_keeps_everything() {
    let r = sample_report();
    let bytes = serde_json::to_vec_pretty(&r).unwrap();
    assert_eq!(Report::from_json(&bytes).unwrap(), r);
}

#[test]
fn yaml_form_reads_like_json() {
    let r = sample_report();
    let yaml = serde_saphyr::to_string(&r).unwrap();
    assert_eq!(Report::from_yaml(&yaml).unwrap(), r);
}

#[test]
fn newer_schema_version_is_refused_with_both_versions() {
    let mut v = sample_value();
    v["schema_version"] = json!(SCHEMA_VERSION + 1);
    let e = read(&v).unwrap_err();
    assert_eq!(
        e,
        Error::SchemaVersion {
            found: (SCHEMA_VERSION + 1).to_string(),
            supported: SCHEMA_VERSION
        }
    );
    assert!(e.to_string().contains("schema_version 2"), "{e}");
    v["schema_version"] = json!("1");
    assert!(matches!(read(&v), Err(Error::SchemaVersion { .. })));
    v["schema_version"] = json!(0);
    assert!(matches!(read(&v), Err(Error::SchemaVersion { .. })));
    v.as_object_mut().unwrap().remove("schema_version");
    assert_eq!(
        read(&v).unwrap_err(),
        Error::Missing {
            path: "schema_version".into()
        }
    );
}

#[test]
fn missing_system_is_named() {
    let mut v = sample_value();
    v.as_object_mut().unwrap().remove("system");
    assert_eq!(
        read(&v).unwrap_err(),
        Error::Missing {
            path: "system".into()
        }
    );
}

#[test]
fn device_without_modalias_names_the_device() {
    let mut v = sample_value();
    v["devices"][1].as_object_mut().unwrap().remove("modalias");
    assert_eq!(
        read(&v).unwrap_err(),
        Error::NoModalias {
            path: "devices[1]".into()
        }
    );
    let mut v = sample_value();
    v["devices"][2]["modalias"] = json!("");
    assert_eq!(
        read(&v).unwrap_err(),
        Error::NoModalias {
            path: "devices[2]".into()
        }
    );
}

#[test]
fn modalias_with_control_characters_is_refused() {
    let mut v = sample_value();
    v["devices"][0]["modalias"] = json!("pci:v00008086d0000A7A1\nsv0000");
    let e = read(&v).unwrap_err();
    assert_eq!(
        e,
        Error::ControlCharacter {
            path: "devices[0].modalias".into(),
            code: 0x0a
        }
    );
    assert!(e.to_string().contains("U+000A"), "{e}");
    let mut v = sample_value();
    v["devices"][0]["modalias"] = json!("no bus here");
    assert!(matches!(read(&v), Err(Error::Invalid { path, .. }) if path == "devices[0].modalias"));
}

#[test]
fn long_strings_and_too_many_devices_are_refused() {
    let mut v = sample_value();
    v["system"]["cpu"] = json!("x".repeat(hcl_data::MAX_SHORT + 1));
    assert_eq!(
        read(&v).unwrap_err(),
        Error::TooLong {
            path: "system.cpu".into(),
            len: hcl_data::MAX_SHORT + 1,
            max: hcl_data::MAX_SHORT
        }
    );
    let mut v = sample_value();
    let one = v["devices"][0].clone();
    v["devices"] = json!(vec![one; hcl_data::MAX_DEVICES + 1]);
    assert_eq!(
        read(&v).unwrap_err(),
        Error::TooMany {
            path: "devices".into(),
            count: hcl_data::MAX_DEVICES + 1,
            max: hcl_data::MAX_DEVICES
        }
    );
}

#[test]
fn wrong_types_name_the_part() {
    let mut v = sample_value();
    v["devices"][2]["role"] = json!("boss");
    let e = read(&v).unwrap_err();
    assert!(
        matches!(&e, Error::Type { path, message } if path == "devices[2]" && message.contains("boss")),
        "{e:?}"
    );
    let mut v = sample_value();
    v["system"]["memory_mib"] = json!("lots");
    assert!(matches!(read(&v), Err(Error::Type { path, .. }) if path == "system"));
    assert!(matches!(
        Report::from_json(b"[1, 2]"),
        Err(Error::Type { path, .. }) if path == "$"
    ));
}

#[test]
fn report_id_must_be_file_name_safe() {
    let mut v = sample_value();
    v["report_id"] = json!("../../etc/passwd");
    assert!(matches!(read(&v), Err(Error::Invalid { path, .. }) if path == "report_id"));
}

#[test]
fn syntax_errors_give_line_and_column() {
    let e = Report::from_json(b"{\n  \"schema_version\": 1,\n  oops\n}").unwrap_err();
    assert!(
        matches!(
            e,
            Error::Syntax {
                format: "JSON",
                line: 3,
                ..
            }
        ),
        "{e:?}"
    );
    let e = Report::from_yaml("schema_version: 1\nsystem: [unclosed\n").unwrap_err();
    assert!(matches!(e, Error::Syntax { format: "YAML", .. }), "{e:?}");
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let big = vec![b' '; hcl_data::MAX_INPUT_BYTES + 1];
    assert!(matches!(
        Report::from_json(&big),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn yaml_alias_bombs_are_stopped() {
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n\
                b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n\
                d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n\
                f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    assert!(Report::from_yaml(bomb).is_err());
    assert!(hcl_data::qubes_hcl::from_yaml(bomb, "bomb.yml").is_err());
}

#[test]
fn content_id_is_the_same_for_the_same_report() {
    let r = sample_report();
    let id = r.content_id();
    assert_eq!(id.len(), 64);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    // Keys in another order, other whitespace: the same report, the same id.
    let v = sample_value();
    let mut reordered = serde_json::Map::new();
    let obj = v.as_object().unwrap();
    let mut keys: Vec<_> = obj.keys().collect();
    keys.reverse();
    for k in keys {
        reordered.insert(k.clone(), obj[k].clone());
    }
    let again = Report::from_json(
        serde_json::to_string_pretty(&serde_json::Value::Object(reordered))
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(again.content_id(), id);
    let mut changed = r.clone();
    changed.system.memory_mib = Some(31_743);
    assert_ne!(changed.content_id(), id);
}

#[test]
fn clean_report_has_no_privacy_violations() {
    assert_eq!(sample_report().privacy_violations(), Vec::<String>::new());
}

#[test]
fn mac_uuid_and_serial_are_flagged() {
    let mut r = sample_report();
    r.system.model = Some("X1 Carbon 3c:22:fb:01:9a:7e".into());
    r.system.bios = Some("N3XET53W uuid 4c4c4544-0042-3510-8052-b4c04f4e3332".into());
    r.system.distro = Some("Serial Number: PF3ABCDE".into());
    let v = r.privacy_violations();
    assert_eq!(v.len(), 3, "{v:?}");
    // In document order (the schema's field order).
    assert!(
        v[1].contains("$.system.bios") && v[1].contains("UUID"),
        "{v:?}"
    );
    assert!(
        v.iter()
            .any(|x| x.contains("system.model") && x.contains("MAC"))
    );
    assert!(
        v.iter()
            .any(|x| x.contains("system.distro") && x.contains("serial"))
    );
}

#[test]
fn kernel_interface_guids_in_modaliases_are_not_personal() {
    let mut r = sample_report();
    r.devices[0].modalias = "wmi:05901221-D566-11D1-B2F0-00A0C9062910".into();
    r.devices[0].sysfs_path = Some(
        "/sys/devices/platform/PNP0C14:00/wmi_bus/wmi_bus-PNP0C14:00/05901221-D566-11D1-B2F0-00A0C9062910"
            .into(),
    );
    assert!(r.privacy_violations().is_empty());
}

#[test]
fn raw_upload_with_a_serial_field_is_flagged() {
    // from_json would drop the unknown field; the raw check still sees it.
    let mut v = sample_value();
    v["system"]["serial_number"] = json!("PF3ABCDE");
    v["system"]["product_uuid"] = json!("x");
    let bytes = serde_json::to_vec(&v).unwrap();
    let found = privacy_violations_in_json(&bytes);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().any(|f| f.contains("serial_number")));
    assert!(Report::from_json(&bytes).is_ok());
}

/// 28 real HCL files were once flagged because their remarks link to mailing-list messages
/// whose ids are UUIDs; links were then exempt, which let any UUID through inside a URL. Such
/// ids hold the sender's address (`…n%40googlegroups.com`): the check refuses them wherever
/// they are, and the Qubes HCL importer cuts those links out (hcl_import.rs).
#[test]
fn regression_uuid_in_a_web_link_is_refused() {
    let mut r = sample_report();
    r.qubes = Some(hcl_data::QubesInfo {
        versions: vec![hcl_data::QubesVersion {
            remark: Some(
                "see https://groups.google.com/d/msgid/qubes-users/a5851277-ccf0-4cc9-9c00-f605935f7632n%40googlegroups.com"
                    .into(),
            ),
            ..Default::default()
        }],
        source_file: None,
    });
    let found = r.privacy_violations();
    assert!(
        found.iter().any(|f| f.contains("UUID")) && found.iter().any(|f| f.contains("e-mail")),
        "{found:?}"
    );
    r.qubes = Some(hcl_data::QubesInfo {
        versions: vec![hcl_data::QubesVersion {
            remark: Some("see https://forum.qubes-os.org/t/5855".into()),
            ..Default::default()
        }],
        source_file: None,
    });
    assert!(r.privacy_violations().is_empty());
}

/// A key named for an identifier may hold null (nothing there); the same words with a value
/// in the key itself are refused.
#[test]
fn identifier_keys_with_null_and_markers_in_keys() {
    let clean = br#"{"system": {"serial_number": null, "hostname": null}}"#;
    assert_eq!(privacy_violations_in_json(clean), Vec::<String>::new());
    for doc in [
        r#"{"x": {"SN: PF2ABCDE": 1}}"#,
        r#"{"x": {"hostname=alice-laptop": 1}}"#,
        r#"{"x": {"alice@example.org": 1}}"#,
        r#"{"x": {"fe80::21b:21ff:fe3a:4f5c": 1}}"#,
        r#"{"x": {"Linux alice 6.1.0-13-amd64 #1 SMP": 1}}"#,
    ] {
        let found = privacy_violations_in_json(doc.as_bytes());
        assert!(
            found.iter().any(|f| f.contains("the key looks like")),
            "{doc}: {found:?}"
        );
    }
}

/// Bus prefixes with a dash exist, and dom0 runs on Xen: `xen-backend:vif` must validate.
#[test]
fn regression_modalias_bus_with_a_dash_is_valid() {
    let mut r = sample_report();
    r.devices[0].bus = "xen-backend".into();
    r.devices[0].modalias = "xen-backend:vif".into();
    assert_eq!(r.validate(), Ok(()));
}

#[test]
fn kernel_summary_cannot_cover_more_than_it_has() {
    let mut v = sample_value();
    v["kernels"]["debian-13"]["dom0_covered"] = json!(3);
    let e = read(&v).unwrap_err();
    assert!(
        matches!(&e, Error::Invalid { path, .. } if path == "kernels.debian-13"),
        "{e:?}"
    );
}

/// amdgpu asks for over 600 firmware files per kernel: a report carries only the missing ones
/// and the counts (regression: a probe report with one AMD GPU was half a megabyte).
#[test]
fn compact_firmware_keeps_missing_files_and_counts() {
    use hcl_data::{Coverage, FirmwareNeed};
    let need = |file: &str, shipped| FirmwareNeed {
        module: "amdgpu".into(),
        file: file.into(),
        shipped,
        package: None,
    };
    let mut c = Coverage {
        firmware: vec![
            need("amdgpu/a.bin", Some(true)),
            need("amdgpu/b.bin", Some(false)),
            need("amdgpu/c.bin", Some(true)),
        ],
        ..Coverage::default()
    };
    c.compact_firmware();
    assert_eq!(c.firmware_declared, 3);
    assert_eq!(c.firmware_shipped, Some(2));
    assert_eq!(c.firmware.len(), 1);
    assert_eq!(c.firmware[0].file, "amdgpu/b.bin");

    // No distro list: nothing is called missing, the shipped count is unknown.
    let mut unknown = Coverage {
        firmware: vec![need("amdgpu/a.bin", None)],
        ..Coverage::default()
    };
    unknown.compact_firmware();
    assert_eq!(
        (unknown.firmware_declared, unknown.firmware_shipped),
        (1, None)
    );
    assert!(unknown.firmware.is_empty());
}

/// Stored reports read back byte for byte: a report the server stored before categories, USB
/// kinds, boot modes, RHEL statuses and days became typed (with spellings no set knows) reads
/// and writes back unchanged, content id included.
#[test]
fn reports_stored_before_the_closed_sets_read_back_byte_for_byte() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/report-v1-a281d18.json");
    let stored = std::fs::read(&path).expect("test data");
    let r = Report::from_json(&stored).expect("reads");
    let again = r.canonical().expect("writes");
    assert!(again.json.as_bytes() == stored.as_slice(), "{}", again.json);
    assert_eq!(
        r.devices.last().map(|d| d.category.as_str()),
        Some("quantum-accelerator")
    );
    assert_eq!(
        r.system.boot_mode.as_ref().map(|b| b.as_str()),
        Some("coreboot")
    );
}

/// Issue 11's fields are optional: a report written before them reads, and writing it again
/// adds none of them (its content id does not change).
#[test]
fn reports_without_readiness_fields_still_read_unchanged() {
    let text = serde_json::to_string(&sample_report()).unwrap();
    for key in [
        "passthrough",
        "suspend",
        "xen",
        "iommu_present",
        "iommu_enabled",
        "interrupt_remapping_supported",
        "bios_version",
    ] {
        assert!(!text.contains(key), "{key} written for a report without it");
    }
    let r = Report::from_json(text.as_bytes()).unwrap();
    assert_eq!(serde_json::to_string(&r).unwrap(), text);
    assert_eq!(r.content_id(), sample_report().content_id());
}

#[test]
fn readiness_fields_round_trip_in_json_and_yaml() {
    use hcl_data::{
        HiddenFact, Passthrough, PassthroughVerdict, ResetSource, Suspend, Tri, XenGuestType,
        XenInfo,
    };
    let mut r = sample_report();
    r.system.iommu_present = Some(Tri::Yes);
    r.system.iommu_enabled = Some(Tri::Unknown);
    r.system.interrupt_remapping_supported = Some(Tri::Yes);
    r.system.bios_version = Some("N3XET53W (1.28)".into());
    r.system.suspend = Some(Suspend {
        mem_sleep: vec!["s2idle".into(), "deep".into()],
        mem_sleep_current: Some("deep".into()),
        deep: Tri::Yes,
        low_power_s0: Tri::No,
    });
    r.system.xen = Some(XenInfo {
        dom0: Tri::Yes,
        guest_type: Some(XenGuestType::Pv),
        version: Some("4.17.5".into()),
        qubes_release: Some("4.2.4".into()),
        hidden: vec![HiddenFact::Slat, HiddenFact::Memory],
    });
    r.devices[2].passthrough = Some(Passthrough {
        reset_methods: vec!["flr".into(), "bus".into()],
        reset_source: ResetSource::Kernel,
        group: Some(vec!["0000:00:14.2".into()]),
        verdict: PassthroughVerdict::AssignWithGroup,
        reason: "IOMMU group 5 also holds 0000:00:14.2".into(),
    });
    r.devices[1].passthrough = Some(Passthrough {
        group: None,
        ..Default::default()
    });
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["devices"][1]["passthrough"]["group"], json!(null));
    assert_eq!(
        json["devices"][2]["passthrough"]["verdict"],
        "assign_with_group"
    );
    assert_eq!(json["system"]["suspend"]["deep"], "yes");
    assert_eq!(json["system"]["xen"]["guest_type"], "PV");
    assert_eq!(json["system"]["xen"]["hidden"], json!(["slat", "memory"]));
    assert_eq!(read(&json).unwrap(), r);
    let yaml = serde_saphyr::to_string(&r).unwrap();
    assert_eq!(Report::from_yaml(&yaml).unwrap(), r);
    assert!(
        r.privacy_violations().is_empty(),
        "{:?}",
        r.privacy_violations()
    );
}

#[test]
fn readiness_fields_are_checked() {
    let mut v = sample_value();
    v["devices"][0]["passthrough"] = json!({
        "reset_methods": ["flr\u{1b}"], "group": null, "verdict": "ready", "reason": ""
    });
    assert!(matches!(read(&v), Err(Error::ControlCharacter { .. })));
    v["devices"][0]["passthrough"] = json!({
        "reset_methods": [], "group": null, "verdict": "maybe", "reason": ""
    });
    assert!(
        matches!(read(&v), Err(Error::Type { .. })),
        "{:?}",
        read(&v)
    );
}
