//! Importing the real Qubes HCL: every file, and the facts of a few known ones.

use hcl_data::{Origin, Report, Role, Tri, qubes_hcl};

use crate::common::{hcl_bytes, hcl_names, hcl_text};

fn import(name: &str) -> Report {
    qubes_hcl::from_yaml(&hcl_text(name), name).unwrap_or_else(|e| panic!("{e}"))
}

fn device<'a>(r: &'a Report, vendor: &str, device: &str) -> &'a hcl_data::Device {
    r.devices
        .iter()
        .find(|d| d.vendor.as_deref() == Some(vendor) && d.device.as_deref() == Some(device))
        .unwrap_or_else(|| panic!("no {vendor}:{device} in {:#?}", r.devices))
}

#[test]
fn every_real_hcl_file_imports() {
    let names = hcl_names();
    assert_eq!(names.len(), 1195, "the HCL in data/ has 1,195 reports");
    let mut failures = Vec::new();
    let mut flagged = 0;
    let (mut devices, mut gpus, mut with_versions, mut content_ids) =
        (0, 0, 0, std::collections::BTreeSet::new());
    for name in &names {
        let result = match std::str::from_utf8(hcl_bytes(name)) {
            Ok(text) => qubes_hcl::from_yaml(text, name),
            Err(e) => Err(hcl_data::Error::QubesHcl {
                file: (*name).to_owned(),
                reason: format!("not UTF-8: {e}"),
            }),
        };
        match result {
            Ok(r) => {
                assert!(r.validate().is_ok());
                let found = r.privacy_violations();
                if !found.is_empty() {
                    eprintln!("privacy flag in {name}: {found:?}");
                    flagged += 1;
                }
                assert_eq!(r.origin, Origin::QubesHcl);
                assert!(
                    r.devices
                        .iter()
                        .all(|d| d.partial && d.modalias.starts_with("pci:v0000"))
                );
                devices += r.devices.len();
                gpus += r.devices.iter().filter(|d| d.category == "gpu").count();
                with_versions +=
                    usize::from(r.qubes.as_ref().is_some_and(|q| !q.versions.is_empty()));
                content_ids.insert(r.content_id());
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    for f in &failures {
        eprintln!("import failure: {f}");
    }
    eprintln!(
        "imported {} of {} files: {devices} devices ({gpus} GPUs), {with_versions} with versions",
        names.len() - failures.len(),
        names.len()
    );
    assert!(
        failures.is_empty(),
        "{} files failed to import",
        failures.len()
    );
    // Nearly every report names its GPU with [vendor:device]; most name a network device.
    assert!(gpus > 1100, "{gpus} GPUs");
    assert!(devices > 2500, "{devices} devices");
    assert!(with_versions > 1150, "{with_versions}");
    // Remarks link to mailing-list messages whose ids are UUIDs: links are not flagged.
    assert_eq!(flagged, 0, "{flagged} files flagged");
    // Different files are different reports.
    assert_eq!(content_ids.len(), names.len());
}

#[test]
fn intel_nuc13_facts() {
    let r = import("Intel-NUC13ANHi5-20230728.yml");
    // Not the name `qubes-hcl-report` makes (no time): an id from the content.
    assert!(
        r.report_id.starts_with("hcl-Intel-NUC13ANHi5-"),
        "{}",
        r.report_id
    );
    assert_eq!(r.generated_on, "2023-07-28");
    assert_eq!(r.generator, qubes_hcl::GENERATOR);
    let s = &r.system;
    assert_eq!(s.machine_type.as_deref(), Some("desktop"));
    assert_eq!(s.brand.as_deref(), Some("Intel"));
    assert_eq!(s.model.as_deref(), Some("NUC13ANHi5"));
    assert_eq!(s.bios.as_deref(), Some("ANRPL357.0027.2023.0607.1754"));
    assert_eq!(
        s.cpu.as_deref(),
        Some("13th Gen Intel(R) Core(TM) i5-1340P")
    );
    assert_eq!(s.memory_mib, Some(65084));
    assert_eq!(
        (s.hvm, s.iommu, s.slat, s.interrupt_remapping),
        (Tri::Yes, Tri::Yes, Tri::Yes, Tri::Yes)
    );
    assert_eq!(s.tpm, None, "tpm 'unknown'");
    let t = s.hcl_text.as_ref().unwrap();
    assert_eq!(t.cpu_short.as_deref(), Some("i5-1340P"));
    assert_eq!(t.chipset_short.as_deref(), Some("Raptor Lake"));
    assert_eq!(
        t.gpu_short.as_deref(),
        Some("Integrated Graphics (Iris Xe)")
    );
    assert_eq!(t.scsi.as_deref(), Some("Samsung SSD 870  Rev: 2B6Q"));
    assert_eq!(t.usb.as_deref(), Some("4"));

    assert_eq!(r.devices.len(), 4);
    let gpu = device(&r, "8086", "a7a0");
    assert_eq!(
        gpu.modalias,
        "pci:v00008086d0000A7A0sv????????sd????????bc03sc00i00"
    );
    assert_eq!((gpu.category.as_str(), gpu.role), ("gpu", Role::Dom0));
    assert_eq!(gpu.revision.as_deref(), Some("04"));
    let chipset = device(&r, "8086", "a707");
    assert_eq!(chipset.category, "chipset");
    assert_eq!(
        chipset.modalias,
        "pci:v00008086d0000A707sv????????sd????????bc??sc??i??"
    );
    // "Intel Corporation Device 51f1": no brackets, the vendor is named.
    let wifi = device(&r, "8086", "51f1");
    assert_eq!(
        (wifi.category.as_str(), wifi.role),
        ("network", Role::Assignable)
    );
    assert_eq!(
        wifi.modalias,
        "pci:v00008086d000051F1sv????????sd????????bc??sc??i??"
    );
    device(&r, "8086", "125c");

    let q = r.qubes.as_ref().unwrap();
    assert_eq!(q.source_file, None);
    assert_eq!(q.versions.len(), 1);
    let v = &q.versions[0];
    assert_eq!(v.works.as_deref(), Some("partial"));
    assert_eq!(v.qubes.as_deref(), Some("R4.1"));
    assert_eq!(v.xen.as_deref(), Some("4.14.5"));
    assert_eq!(v.kernel.as_deref(), Some("6.3.9-1"));
    assert_eq!(v.remark.as_deref(), Some("no resume"));
}

#[test]
fn asrock_b450m_named_network_device_is_not_guessed() {
    let r = import("ASRock-B450M_Pro4-20210809-120230.yml");
    assert_eq!(r.system.machine_type.as_deref(), Some("motherboard"));
    assert_eq!(r.system.memory_mib, Some(16248));
    let gpu = device(&r, "1002", "15dd");
    assert_eq!(
        gpu.vendor_name.as_deref(),
        Some("Advanced Micro Devices, Inc. [AMD/ATI] Device")
    );
    assert!(gpu.modalias.ends_with("bc03sc00i00"));
    device(&r, "1022", "15d0");
    // "Realtek ... RTL8111/8168/8411 ...": a name without an id is kept as text only.
    assert_eq!(r.devices.len(), 2);
    assert!(
        r.system
            .hcl_text
            .as_ref()
            .unwrap()
            .network
            .as_deref()
            .unwrap()
            .contains("RTL8111")
    );
    assert_eq!(
        r.system
            .hcl_text
            .as_ref()
            .unwrap()
            .scsi
            .as_deref()
            .map(|s| s.lines().count()),
        Some(4)
    );
}

#[test]
fn tpm_and_iommu_as_maps_keep_status_and_message() {
    let r = import("Gigabyte-890fxa-ud7-20200611-000000.yml");
    let t = r.system.hcl_text.as_ref().unwrap();
    let iommu = &t.statuses["iommu"];
    assert_eq!(iommu.status, "yes");
    assert_eq!(iommu.message.as_deref(), Some("Works with extra config"));
    assert_eq!(r.system.iommu, Tri::Yes);
    assert_eq!(t.statuses["tpm"].status, "no");
    assert_eq!(r.system.tpm, None);
    device(&r, "1002", "5a11");
}

#[test]
fn spelling_variants_and_loose_values_are_tolerated() {
    let text = "---\nlayout: hcl\ntype: Laptop\nhvm: yes\niommu: partial\nslat: no\n\
                tpm: '2.0'\ncpu_short: 'i7-8650U'\nbrand: Dell Inc.\nmodel: |\n    Latitude 7490\n\
                memory: 15950\nnetwork: |\n        Intel Corporation Device 24fd (rev 78)\n\
                stray-field: [1, 2]\nversions:\n- works: yes\n  qubes: R4.0\n  remarks: fine\n---\n";
    let r = qubes_hcl::from_yaml(text, "Dell-Latitude_7490-20190101-101010.yml").unwrap();
    let s = &r.system;
    assert_eq!(s.machine_type.as_deref(), Some("laptop"));
    assert_eq!(s.hvm, Tri::Yes);
    assert_eq!(s.iommu, Tri::Unknown, "partial is not yes");
    assert_eq!(
        s.hcl_text.as_ref().unwrap().statuses["iommu"].status,
        "partial"
    );
    assert_eq!(s.slat, Tri::No);
    assert_eq!(s.tpm.as_deref(), Some("2.0"));
    assert_eq!(s.memory_mib, Some(15950));
    assert_eq!(s.model.as_deref(), Some("Latitude 7490"));
    assert_eq!(
        s.hcl_text.as_ref().unwrap().cpu_short.as_deref(),
        Some("i7-8650U")
    );
    device(&r, "8086", "24fd");
    let v = &r.qubes.as_ref().unwrap().versions[0];
    assert_eq!(v.works.as_deref(), Some("yes"));
    assert_eq!(v.remark.as_deref(), Some("fine"));
}

#[test]
fn files_that_are_not_reports_fail_clearly() {
    let e = qubes_hcl::from_yaml("- just\n- a list\n", "list.yml").unwrap_err();
    assert!(e.to_string().contains("list.yml"), "{e}");
    assert!(e.to_string().contains("no YAML mapping"), "{e}");
    let e = qubes_hcl::from_yaml("brand: [unclosed\n", "broken.yml").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Qubes HCL file broken.yml: YAML syntax error at line"),
        "{e}"
    );
}

/// The strings of a raw HCL file with the key they sit under (lower case), in file order.
fn raw_strings(v: &serde_json::Value, key: &str, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::String(s) => out.push((key.to_owned(), s.clone())),
        serde_json::Value::Array(items) => items.iter().for_each(|i| raw_strings(i, key, out)),
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                raw_strings(v, &k.trim().to_ascii_lowercase(), out);
            }
        }
        _ => {}
    }
}

fn raw_docs(bytes: &[u8]) -> Vec<serde_json::Value> {
    let text = String::from_utf8_lossy(bytes);
    serde_saphyr::from_str_multiple::<serde_json::Value, Vec<_>>(&text).unwrap_or_default()
}

/// No false refusal: in the 1,195 real reports, the privacy check finds nothing in the
/// hardware text (brand, model, BIOS, CPU, chipset, GPU, network, disks, statuses, versions).
/// All it finds is in the people's own fields: `credit` and `link` (not imported) and links
/// or addresses inside `remark`, which the importer cuts out.
#[test]
fn privacy_check_finds_nothing_in_the_real_hcl_hardware_text() {
    let mut wrong = Vec::new();
    let mut in_remarks = std::collections::BTreeMap::new();
    let mut people = 0;
    for name in hcl_names() {
        let bytes = hcl_bytes(name);
        let mut strings = Vec::new();
        for doc in raw_docs(bytes) {
            raw_strings(&doc, "", &mut strings);
        }
        for (key, text) in strings {
            let (norm, found) = hcl_data::find_identifiers(&text, hcl_data::Place::Text);
            for f in found {
                let what = norm.get(f.range.clone()).unwrap_or_default().to_owned();
                match key.as_str() {
                    "credit" | "link" => people += 1,
                    "remark" | "remarks" => *in_remarks.entry(f.kind).or_insert(0) += 1,
                    _ => wrong.push(format!("{name}: {key}: {:?} {what:?}", f.kind)),
                }
            }
        }
    }
    eprintln!(
        "identifiers in credit/link: {people}; in remarks, by kind: {in_remarks:?}; elsewhere: {}",
        wrong.len()
    );
    assert!(wrong.is_empty(), "false refusals: {wrong:#?}");
    assert!(
        people > 100,
        "the real files do hold e-mail addresses: {people}"
    );
}

/// Every imported report passes the privacy check, nothing of a `credit` (a person's name,
/// nickname or address) is imported, nor a `link` to one person's message or page. (A word of
/// a credit that the file's other text also has, such as a remark naming the same forum
/// thread or "Vikings" firmware, is that text's.)
#[test]
fn imported_hcl_reports_carry_no_credit_link_or_identifier() {
    let mut leaks = Vec::new();
    let mut checked = 0;
    for name in hcl_names() {
        let bytes = hcl_bytes(name);
        let text = String::from_utf8_lossy(bytes);
        let Ok(report) = qubes_hcl::from_yaml(&text, name) else {
            continue;
        };
        let found = report.privacy_violations();
        assert!(found.is_empty(), "{name}: {found:?}");
        let json = serde_json::to_string(&report).unwrap();
        let mut strings = Vec::new();
        for doc in raw_docs(bytes) {
            raw_strings(&doc, "", &mut strings);
        }
        let other_text: String = strings
            .iter()
            .filter(|(k, _)| k != "credit" && k != "link")
            .map(|(_, v)| v.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join("\n");
        for (key, value) in &strings {
            if key != "credit" && key != "link" {
                continue;
            }
            checked += 1;
            for word in value.split(|c: char| c.is_whitespace() || "()@<>,;'\"".contains(c)) {
                let lower = word.to_ascii_lowercase();
                // "Qubes Team", "Qubes fan": the project's name is in every imported report.
                if word.chars().count() >= 5
                    && lower != "qubes"
                    && !other_text.contains(&lower)
                    && json.to_ascii_lowercase().contains(&lower)
                {
                    leaks.push(format!("{name}: {key} {word:?}"));
                }
            }
        }
    }
    assert!(checked > 1000, "{checked} credit and link values");
    assert!(leaks.is_empty(), "{leaks:#?}");
}

/// Bug: mailing-list links in remarks carried the sender's address (`…%40gmail.com`) and
/// message id into the imported report.
#[test]
fn regression_message_links_in_remarks_are_cut_out() {
    let text = "---\nbrand: |\n  Dell Inc.\nmodel: |\n  XPS 13\nversions:\n- works: 'yes'\n  \
                remark: |\n    Needs nomodeset, <a href='https://groups.google.com/d/msgid/qubes-users/CAG5qw%40mail.gmail.com'>see</a>, \
                also https://groups.google.com/d/msg/qubes-users/nCJ4gH_YNyY/Lol_8D-HDQAJ and \
                https://forum.qubes-os.org/t/5855 or mail bob@example.org\n  credit: |\n    Bob Example\n  \
                link: |\n    https://bob.example.org\n---\n";
    let r = qubes_hcl::from_yaml(text, "Dell-XPS_13-20200101-101010.yml").unwrap();
    let remark = r.qubes.as_ref().unwrap().versions[0]
        .remark
        .clone()
        .unwrap();
    assert_eq!(
        remark,
        "Needs nomodeset, <a href='[link removed]'>see</a>, also [link removed] and \
         https://forum.qubes-os.org/t/5855 or mail [removed]"
    );
    let json = serde_json::to_string(&r).unwrap();
    assert!(!json.contains("Bob") && !json.contains("bob"), "{json}");
}

/// Bug: a hand-named file's name (`Brand-Model-Sender_Name.yml`) became the report id and
/// `source_file`, storing the sender's name.
#[test]
fn regression_hand_named_files_give_no_name_to_the_report() {
    let text = "---\nbrand: |\n  ASUSTeK COMPUTER INC.\nmodel: |\n  UX305CA\n---\n";
    let r = qubes_hcl::from_yaml(text, "Asus-UX305CA-Petter_Reinholdtsen.yml").unwrap();
    assert!(!r.report_id.contains("Petter"), "{}", r.report_id);
    assert!(
        r.report_id.starts_with("hcl-ASUSTeK_COMPUTER_INC-UX305CA-"),
        "{}",
        r.report_id
    );
    assert_eq!(r.qubes.as_ref().unwrap().source_file, None);
    // Stable: the same file imports to the same id.
    let again = qubes_hcl::from_yaml(text, "Asus-UX305CA-Petter_Reinholdtsen.yml").unwrap();
    assert_eq!(r.report_id, again.report_id);
    let dated = qubes_hcl::from_yaml(text, "Asus-Vivobook-20230821-gandalfen.yml").unwrap();
    assert!(!dated.report_id.contains("gandalfen"));
    assert_eq!(dated.generated_on, "2023-08-21");
    // Names the tool makes are kept.
    let tool = qubes_hcl::from_yaml(text, "Asus-UX305CA-20230821-120000.yml").unwrap();
    assert_eq!(tool.report_id, "hcl-Asus-UX305CA-20230821-120000");
    assert_eq!(
        tool.qubes.unwrap().source_file.as_deref(),
        Some("Asus-UX305CA-20230821-120000.yml")
    );
}
