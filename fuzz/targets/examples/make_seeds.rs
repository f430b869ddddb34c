//! Writes the seed inputs of the fuzz targets from the repository's real data: the probe's
//! reports of the captured machine trees (`tests/fixtures/sysfs`), files of the Qubes HCL
//! (`data/qubes-hcl`), slices of the shipped kernel profiles, and the pages' real URLs.
//! The `ko`, `deb` and `rpm` seeds come from `fuzz/seeds/packages.sh` (real kernel packages).
//!
//! `cargo run -p hcl-fuzz-targets --example make_seeds -- OUT` writes `OUT/<target>/seed-*`;
//! `fuzz/README.md` says how they become the committed, minimised corpora.

use std::io::Write;
use std::path::{Path, PathBuf};

use hcl_fuzz_targets::sysfs::{self, Kind};
use hcl_fuzz_targets::{modalias, repo_path};
use hcl_probe::output::{self, TableOptions};

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).expect("usage: make_seeds OUT"));
    let reports = probe_reports();
    let hcl = hcl_reports();
    upload(&out, &reports, &hcl);
    qubes_hcl(&out);
    modalias_seeds(&out, &reports, &hcl);
    profile(&out);
    sysfs_seeds(&out);
    query(&out);
    escape(&out);
    dns(&out);
}

fn put(out: &Path, target: &str, name: &str, data: &[u8]) {
    let dir = out.join(target);
    std::fs::create_dir_all(&dir).expect("seed folder");
    std::fs::write(dir.join(format!("seed-{name}")), data).expect("seed");
}

fn fixtures() -> Vec<PathBuf> {
    let mut trees: Vec<PathBuf> = std::fs::read_dir(repo_path("tests/fixtures/sysfs"))
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("sys").is_dir())
        .collect();
    trees.sort();
    trees
}

/// The probe's report of each captured tree.
fn probe_reports() -> Vec<(String, hcl_data::Report)> {
    fixtures()
        .iter()
        .map(|t| {
            let root = hcl_probe::root::Root::new(t);
            let mut report = hcl_probe::scan::scan(&root, modalias::catalog())
                .expect("scan")
                .report;
            // Small seeds mutate fast: a dozen devices of every kind the tree has.
            let step = report.devices.len() / 12 + 1;
            report.devices = report.devices.into_iter().step_by(step).collect();
            let name = t.file_name().expect("name").to_string_lossy().into_owned();
            (name, report)
        })
        .collect()
}

fn hcl_files(n: usize) -> Vec<hcl_data::hcl_files::HclFile> {
    let files = hcl_data::hcl_files::read(&repo_path("data/qubes-hcl/qubes-hcl.tar.zst"))
        .expect("HCL archive");
    let step = files.len() / n + 1;
    files.into_iter().step_by(step).collect()
}

fn hcl_reports() -> Vec<(String, hcl_data::Report)> {
    hcl_files(6)
        .into_iter()
        .filter_map(|f| {
            let r = hcl_aggregator::import::load_one(&f.bytes, &f.name).ok()?;
            Some((f.name, r))
        })
        .collect()
}

fn render(r: &hcl_data::Report, f: output::Format) -> String {
    output::render(r, f, TableOptions::default()).expect("render")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

fn upload(out: &Path, reports: &[(String, hcl_data::Report)], hcl: &[(String, hcl_data::Report)]) {
    for (name, r) in reports.iter().chain(hcl) {
        put(
            out,
            "upload_json",
            name,
            render(r, output::Format::Json).as_bytes(),
        );
        put(
            out,
            "upload_yaml",
            name,
            render(r, output::Format::Yaml).as_bytes(),
        );
    }
    // Refused ones: an identifier in a value, a key unknown to the schema, a bad modalias.
    let (_, first) = &reports[0];
    let mut leak = first.clone();
    leak.system.model = Some("ThinkPad 00:1b:21:3a:4f:5c".into());
    put(
        out,
        "upload_json",
        "mac-in-model",
        render(&leak, output::Format::Json).as_bytes(),
    );
    put(
        out,
        "upload_yaml",
        "mac-in-model",
        render(&leak, output::Format::Yaml).as_bytes(),
    );
    let mut v: serde_json::Value = serde_json::to_value(first).expect("value");
    v["system"]["serial"] = "PF2ABCDE".into();
    put(out, "upload_json", "serial-key", v.to_string().as_bytes());
    let mut bad = first.clone();
    if let Some(d) = bad.devices.first_mut() {
        d.modalias = "no bus here".into();
    }
    put(
        out,
        "upload_json",
        "bad-modalias",
        &serde_json::to_vec(&bad).expect("json"),
    );

    // upload_gzip: selector byte, then the body as sent.
    let json = render(first, output::Format::Json);
    let yaml = render(&hcl[0].1, output::Format::Yaml);
    let mut seeds: Vec<(&str, u8, Vec<u8>)> = vec![
        ("json", 0, gzip(json.as_bytes())),
        ("yaml", 16, gzip(yaml.as_bytes())),
        ("x-gzip-small-limit", 1 | 4, gzip(json.as_bytes())),
        ("bomb", 2, gzip(&vec![b' '; 1 << 20])),
        ("identity", 12, json.clone().into_bytes()),
    ];
    // Two gzip members back to back, as a client may send them.
    let mut two = gzip(&json.as_bytes()[..json.len() / 2]);
    two.extend(gzip(&json.as_bytes()[json.len() / 2..]));
    seeds.push(("two-members", 0, two));
    for (name, sel, body) in seeds {
        let mut data = vec![sel];
        data.extend(body);
        put(out, "upload_gzip", name, &data);
    }
}

fn qubes_hcl(out: &Path) {
    for f in hcl_files(40) {
        if let Ok(bytes) = &f.bytes {
            put(out, "qubes_hcl", &f.name, bytes);
        }
    }
}

fn modalias_seeds(
    out: &Path,
    reports: &[(String, hcl_data::Report)],
    hcl: &[(String, hcl_data::Report)],
) {
    let mut n = 0;
    for (_, r) in reports.iter().chain(hcl) {
        for d in r.devices.iter().step_by(4) {
            put(
                out,
                "modalias",
                &format!("device-{n}"),
                d.modalias.as_bytes(),
            );
            n += 1;
        }
    }
    // A pattern of a real profile with a modalias it matches, and a partial one.
    let profile = modalias::catalog().get("debian-13").expect("debian-13");
    for (i, a) in profile
        .data()
        .aliases
        .iter()
        .step_by(997)
        .take(12)
        .enumerate()
    {
        let key: String = a
            .pattern
            .chars()
            .filter(|c| !matches!(c, '*' | '[' | ']'))
            .map(|c| if c == '?' { '0' } else { c })
            .collect();
        let mut partial = key.clone();
        if partial.len() > 8 {
            partial.replace_range(partial.len() - 2.., "??");
        }
        put(
            out,
            "modalias",
            &format!("pattern-{i}"),
            format!("{}\n{key}", a.pattern).as_bytes(),
        );
        put(
            out,
            "modalias",
            &format!("partial-{i}"),
            format!("{}\n{partial}", a.pattern).as_bytes(),
        );
    }
    for (name, text) in [
        ("brackets", "a[!0-2][[:xdigit:]]\\*x\na3F*x"),
        (
            "class",
            "pci:v*d*sv*sd*bc0Csc03i30*\npci:v00008086d0000A0EDsv000017AAsd00002292bc0Csc03i30",
        ),
    ] {
        put(out, "modalias", name, text.as_bytes());
    }
}

/// A slice of a real profile: its header and metadata, the first modules with their aliases,
/// a few firmware and RHEL records.
fn profile(out: &Path) {
    for id in ["debian-13", "rhel-9.6", "qubes-6.12"] {
        let p = modalias::catalog().get(id).expect("profile");
        let text = p.data().to_text();
        let mut slice = String::new();
        let (mut modules, mut aliases, mut fw, mut rhel) = (0, 0, 0, 0);
        for (i, line) in text.lines().enumerate() {
            let keep = i < 2
                || match line.split('\t').next() {
                    Some("M") => {
                        modules += 1;
                        modules <= 30
                    }
                    Some("A") => {
                        let m: usize = line
                            .split('\t')
                            .nth(3)
                            .and_then(|m| m.parse().ok())
                            .unwrap_or(usize::MAX);
                        aliases += usize::from(m < 30);
                        m < 30 && aliases <= 120
                    }
                    Some("P") => true,
                    Some("F") => {
                        fw += 1;
                        fw <= 20
                    }
                    Some("R") => {
                        rhel += 1;
                        rhel <= 10
                    }
                    _ => false,
                };
            if keep {
                slice.push_str(line);
                slice.push('\n');
            }
        }
        hcl_kernels::ProfileData::from_text(&slice, id).expect("the slice decodes");
        let mut text_seed = vec![1u8];
        text_seed.extend_from_slice(slice.as_bytes());
        put(out, "profile", &format!("{id}-text"), &text_seed);
        let mut file_seed = vec![0u8];
        file_seed.extend(zstd::bulk::compress(slice.as_bytes(), 19).expect("zstd"));
        put(out, "profile", &format!("{id}-zst"), &file_seed);
    }
}

/// The captured trees in the `sysfs` input format: facts first, then devices, up to the
/// entries an input holds; file contents cut at 4 KiB.
fn sysfs_seeds(out: &Path) {
    for tree in fixtures() {
        let mut entries = Vec::new();
        walk(&tree, &tree, &mut entries);
        entries.sort_by_key(|(rel, _, _)| (rel.starts_with("sys/devices"), rel.clone()));
        let mut data = Vec::new();
        // Folders are made for the files in them.
        let files = entries.iter().filter(|(_, kind, _)| *kind != Kind::Dir);
        for (rel, kind, content) in files.take(96) {
            sysfs::encode(
                &mut data,
                *kind,
                rel.as_bytes(),
                &content[..content.len().min(4096)],
            );
        }
        let name = tree
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        put(out, "sysfs", &name, &data);
    }
    // A link that leaves the tree, a FIFO where an attribute should be.
    let mut data = Vec::new();
    sysfs::encode(
        &mut data,
        Kind::Symlink,
        b"sys/class/dmi/id/product_name",
        b"/etc/hostname",
    );
    sysfs::encode(&mut data, Kind::Fifo, b"sys/class/dmi/id/sys_vendor", b"");
    sysfs::encode(
        &mut data,
        Kind::Symlink,
        b"sys/devices/pci0000:00/0000:00:02.0/modalias",
        b"../../../../../../outside/modalias",
    );
    put(out, "sysfs", "escapes", &data);
}

fn walk(top: &Path, dir: &Path, out: &mut Vec<(String, Kind, Vec<u8>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("tree")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        let rel = p
            .strip_prefix(top)
            .expect("inside")
            .to_string_lossy()
            .into_owned();
        let meta = std::fs::symlink_metadata(&p).expect("meta");
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&p).expect("link");
            out.push((
                rel,
                Kind::Symlink,
                target.to_string_lossy().into_owned().into_bytes(),
            ));
        } else if meta.is_dir() {
            out.push((rel.clone(), Kind::Dir, Vec::new()));
            walk(top, &p, out);
        } else if meta.is_file() && !rel.ends_with(".md") {
            out.push((rel, Kind::File, std::fs::read(&p).expect("file")));
        }
    }
}

fn query(out: &Path) {
    for (i, url) in [
        "/",
        "/machines?type=laptop&qubes=4.2&page=2",
        "/machines.csv?from=2020-01-01&to=2024-12-31",
        "/devices?format=json",
        "/devices/8086:a7a0",
        "/machines/Lenovo/ThinkPad%20X1",
        "/kernels/debian-13",
        "/kernel-report?candidates=debian-12,debian-13&baseline=debian-12&type=laptop&qubes=R4.2",
        "/kernel-report.md?candidates=rhel-9.6&candidates=qubes-6.12&from=2023-01-01",
        "/kernel-report.csv?candidates=debian-13%2Crhel-10.0&baseline=rhel-10.0",
        "/api/v1/kernel-report?candidates=debian-sid&to=2025-13-40",
        "/reports/0123456789abcdef0123456789abcdef",
        "/api/v1/machines?type=%3Cscript%3E&qubes=%ff%zz",
    ]
    .iter()
    .enumerate()
    {
        let mut data = vec![i as u8];
        data.extend_from_slice(url.as_bytes());
        put(out, "query", &format!("url-{i}"), &data);
    }
}

fn escape(out: &Path) {
    for (i, text) in [
        "acpi:GOOG0006:|x|<img src=x onerror=alert(4)>",
        "pci:v00008086d0000A7A0sv*sd*bc*sc*i*",
        "ThinkPad X1 Carbon Gen 11 `code` *em* _u_ [l](u) ~s~ #h \\ &amp; &#x41;",
        " lead and trail \t",
        "=cmd|' /C calc'!A0\0+1\0-2\0@SUM(A1)\0\"quoted, with comma\"\0line\r\nbreak",
    ]
    .iter()
    .enumerate()
    {
        put(out, "escape", &format!("text-{i}"), text.as_bytes());
    }
}

fn dns(out: &Path) {
    // Answer for example.org A: a CNAME then two A records, names compressed.
    let mut m = Vec::new();
    m.extend_from_slice(&0x1234u16.to_be_bytes());
    m.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0]);
    m.extend_from_slice(b"\x03hcl\x07example\x03org\x00\x00\x01\x00\x01");
    m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6]);
    m.extend_from_slice(b"\x03www\xc0\x0c");
    for ip in [[93, 184, 215, 14], [10, 0, 0, 7]] {
        m.extend_from_slice(&[0xc0, 45, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4]);
        m.extend_from_slice(&ip);
    }
    put(out, "dns", "answer-a", &m);
    let mut aaaa = m[..33].to_vec();
    aaaa[7] = 1;
    aaaa[30] = 28;
    aaaa.extend_from_slice(&[0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16]);
    aaaa.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    put(out, "dns", "answer-aaaa", &aaaa);
    put(
        out,
        "dns",
        "files",
        b"nameserver 10.0.0.1\nnameserver fe80::1%eth0\nsearch example.org lan.\n127.0.0.1 localhost\n10.1.2.3 hcl.example.org hcl # the server\n",
    );
}
