//! Differential test against kmod itself: `modprobe -d ROOT -S VER -R MODALIAS` on the kmod trees
//! that `kernels/tests/make-kmod-roots.sh` makes with `depmod -b` from the real Debian packages
//! (all four Debian kernels; `hcl_kernels::sample::kmod_root`), for more than 10,000 concrete
//! modaliases made from the real pci and usb alias patterns of the four Debian kernels
//! (wildcards filled, near misses included) plus real machine modaliases. kmod's answer must equal `modules` when that is non-empty, else
//! `builtin`, in kmod's order: zero differences.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use hcl_kernels::{AliasFilter, Catalog, sample};

/// A module name kmod resolves by name in every tree; separates the answers of a batch.
const SENTINEL: &str = "dummy";

/// Real modaliases: this machine's /sys/devices plus a fixed set seen on real machines.
fn real_modaliases() -> Vec<String> {
    let mut out: Vec<String> = [
        "pci:v00008086d00002723sv00008086sd00000084bc02sc80i00",
        "pci:v000010ECd00008168sv00001043sd00008677bc02sc00i00",
        "pci:v00001AF4d00001041sv00001AF4sd00001041bc02sc00i00",
        "pci:v00008086d0000A36Dsv00001028sd0000085Cbc0Csc03i30",
        "pci:v0000144Dd0000A808sv0000144Dsd0000A801bc01sc08i02",
        "pci:v00008086d00009DD3sv000017AAsd0000225Dbc01sc06i01",
        "pci:v00008086d00005917sv000017AAsd0000225Dbc03sc00i00",
        "pci:v00001002d00001638sv000017AAsd00005099bc03sc00i00",
        "pci:v000010DEd00001C8Dsv00001028sd0000087Cbc03sc00i00",
        "pci:v00008086d000024F3sv00008086sd00000010bc02sc80i00",
        "pci:v00008086d00009D71sv000017AAsd0000225Dbc04sc03i00",
        "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00",
        "pci:v00008086d00007A70sv00008086sd00000094bc02sc80i00",
        "usb:v8087p0029d0001dcE0dsc01dp01icE0isc01ip01in00",
        "usb:v1D6Bp0003d0606dc09dsc00dp03ic09isc00ip00in00",
        "usb:v046Dp C52Bd1211dc00dsc00dp00ic03isc01ip01in00",
        "usb:v0BDAp8179d0000dc00dsc00dp00icFFiscFFipFFin00",
        "usb:v04F2pB604d0027dcEFdsc02dp01ic0Eisc01ip00in00",
        "acpi:PNP0A08:PNP0A03:",
        "virtio:d00000001v00001AF4",
        "platform:serial8250",
        "input:b0011v0001p0001eAB41-e0,1,4,11,14,k71,72,73,74,75,ram4,l0,1,2,sfw",
        "cpu:type:x86,ven0000fam0006mod006A:feature:,0000,0001,0002",
        "dmi:bvnLENOVO:bvrN2HET77W(1.60):bd02/06/2024:svnLENOVO:pn20QDCTO1WW:",
    ]
    .iter()
    .map(|s| s.replace(' ', ""))
    .collect();
    let mut stack = vec![std::path::PathBuf::from("/sys/devices")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() && !ft.is_symlink() {
                stack.push(e.path());
            } else if e.file_name() == "modalias"
                && let Ok(text) = std::fs::read_to_string(e.path())
            {
                let t = text.trim();
                if !t.is_empty() && !t.contains(char::is_whitespace) {
                    out.push(t.to_owned());
                }
            }
        }
    }
    out
}

/// kmod's answers for a batch: one list per modalias (each module once, kmod's order).
fn kmod_answers(root: &Path, ver: &str, modaliases: &[String]) -> Vec<Vec<String>> {
    let mut args: Vec<&str> = vec![SENTINEL];
    for m in modaliases {
        args.push(m);
        args.push(SENTINEL);
    }
    // `-C /dev/null`: no modprobe.d of the host machine, only the tree's indexes.
    let out = Command::new("modprobe")
        .args(["-C", "/dev/null", "-d"])
        .arg(root)
        .args(["-S", ver, "-a", "-R"])
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run modprobe (apt-get install kmod): {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut answers: Vec<Vec<String>> = Vec::new();
    for line in text.lines() {
        if line == SENTINEL {
            answers.push(Vec::new());
        } else if let Some(last) = answers.last_mut()
            && !last.iter().any(|m| m == line)
        {
            last.push(line.to_owned());
        }
    }
    // The first sentinel opens the first answer; the last closes the final one.
    answers.pop();
    assert_eq!(
        answers.len(),
        modaliases.len(),
        "modprobe batch output did not split into one answer per modalias"
    );
    answers
}

#[test]
fn kmod_differential_zero_differences() {
    let Some(trees) = crate::common::kmod_roots() else {
        return;
    };
    let catalog: &Catalog = crate::common::embedded();
    let ids: Vec<&str> = trees.iter().map(|(id, _, _)| *id).collect();
    let mut modaliases: BTreeSet<String> = sample::modaliases(catalog, &ids, 10_400, 0x5eed_cafe)
        .unwrap()
        .into_iter()
        .collect();
    let generated = modaliases.len();
    modaliases.extend(real_modaliases());
    let modaliases: Vec<String> = modaliases.into_iter().collect();
    assert!(generated >= 10_000);

    // One thread per tree pair keeps both CI cores busy.
    let results: Vec<(usize, usize, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = trees
            .iter()
            .map(|(id, ver, root)| {
                let profile = catalog.get(id).expect("profile");
                let modaliases = &modaliases;
                s.spawn(move || {
                    let mut diffs = Vec::new();
                    let mut driven = 0;
                    for chunk in modaliases.chunks(2_000) {
                        let answers = kmod_answers(root, ver, chunk);
                        for (m, kmod) in chunk.iter().zip(answers) {
                            let ours = profile.resolve(m);
                            if !kmod.is_empty() {
                                driven += 1;
                            }
                            // Same modules in kmod's order (each once; modprobe repeats a module
                            // once per matching pattern).
                            if ours.kmod_answer() != kmod.as_slice() {
                                diffs.push(format!(
                                    "{id} {m}: kmod {kmod:?}, hcl-kernels {:?}",
                                    ours.kmod_answer()
                                ));
                            }
                        }
                    }
                    (modaliases.len(), driven, diffs)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut all_diffs = Vec::new();
    for ((id, _, _), (n, driven, diffs)) in trees.iter().zip(&results) {
        eprintln!(
            "{id}: {n} modaliases, {driven} with a kmod answer, {} differences",
            diffs.len()
        );
        // The sample must exercise matches, not only misses.
        assert!(*driven > n / 3, "{id}: too few matches ({driven})");
        all_diffs.extend(diffs.iter().take(20).cloned());
    }
    assert!(
        all_diffs.is_empty(),
        "differences:\n{}",
        all_diffs.join("\n")
    );
}

/// Partial keys as hardware lists give them: the ids known, subsystem and class unknown.
fn partial_keys(concrete: &[String]) -> Vec<String> {
    concrete
        .iter()
        .filter_map(|m| {
            if let Some(rest) = m.strip_prefix("pci:v") {
                let (v, d) = (rest.get(..8)?, rest.get(9..17)?);
                Some(format!("pci:v{v}d{d}sv????????sd????????bc??sc??i??"))
            } else if let Some(rest) = m.strip_prefix("usb:v") {
                let (v, p) = (rest.get(..4)?, rest.get(5..9)?);
                Some(format!("usb:v{v}p{p}d????dc??dsc??dp??ic??isc??ip??in??"))
            } else {
                None
            }
        })
        .collect()
}

/// Decoding with an [`AliasFilter`] keeps kmod-exactness: for every key of the filter, every
/// shipped profile decoded with it gives the very coverage and drivers the full profile gives.
#[test]
fn filtered_profiles_answer_like_full_ones_for_their_keys() {
    let full: &Catalog = crate::common::embedded();
    let mut concrete: BTreeSet<String> =
        sample::modaliases(full, &hcl_kernels::SHIPPED_IDS, 1_500, 0xf1_17e2)
            .unwrap()
            .into_iter()
            .collect();
    concrete.extend(real_modaliases());
    // Keys lookups normalise (`-`) or reject (`]`).
    concrete.insert("platform:serial8250-x".to_owned());
    concrete.insert("pci:v]".to_owned());
    let concrete: Vec<String> = concrete.into_iter().collect();
    let partial: Vec<String> = partial_keys(&concrete).into_iter().step_by(3).collect();
    let keys: Vec<(&str, bool)> = concrete
        .iter()
        .map(|k| (k.as_str(), false))
        .chain(partial.iter().map(|k| (k.as_str(), true)))
        .collect();
    let filter = AliasFilter::new(keys.iter().copied());
    let filtered = Catalog::start_embedded()
        .finish(Some(&filter))
        .expect("filtered decode");
    assert_eq!(filtered.profiles().len(), full.profiles().len());
    let mut diffs = Vec::new();
    let mut driven = 0;
    for (f, p) in filtered.profiles().iter().zip(full.profiles()) {
        assert!(f.is_filtered() && !p.is_filtered());
        assert_eq!(
            f.meta, p.meta,
            "metadata (counts included) stays the full one"
        );
        assert!(f.data().aliases.len() < p.data().aliases.len());
        for &(key, is_partial) in &keys {
            let want = p.coverage(key, is_partial);
            driven += usize::from(want.verdict.is_driven());
            let same = f.coverage(key, is_partial) == want
                && if is_partial {
                    f.resolve_partial(key) == p.resolve_partial(key)
                } else {
                    f.resolve(key) == p.resolve(key)
                };
            if !same {
                diffs.push(format!("{} {key} (partial {is_partial})", p.meta.id));
            }
        }
    }
    assert!(driven > keys.len(), "the keys must exercise matches");
    assert!(
        diffs.is_empty(),
        "{} differences, first: {:?}",
        diffs.len(),
        &diffs[..diffs.len().min(20)]
    );
}

/// The point of filtering is speed: for a machine's worth of devices it must keep under 1% of
/// the aliases (a filter keeping many would silently make probe scans slow again).
#[test]
fn filtered_decode_keeps_few_aliases_for_a_machine() {
    let full: &Catalog = crate::common::embedded();
    let mut keys: Vec<String> = real_modaliases().into_iter().take(24).collect();
    keys.extend(sample::modaliases(full, &["debian-13"], 46, 0x70).unwrap());
    assert_eq!(keys.len(), 70);
    let filter = AliasFilter::new(keys.iter().map(|k| (k.as_str(), false)));
    let filtered = Catalog::start_embedded()
        .finish(Some(&filter))
        .expect("filtered decode");
    for (f, p) in filtered.profiles().iter().zip(full.profiles()) {
        let (kept, all) = (f.data().aliases.len(), p.data().aliases.len());
        eprintln!("{}: {kept} of {all} aliases kept", p.meta.id);
        assert!(
            kept * 100 < all,
            "{}: {kept} of {all} aliases kept",
            p.meta.id
        );
    }
    // Whole-profile work refuses them instead of answering from a machine's few aliases.
    let (a, b) = (&filtered.profiles()[0], &filtered.profiles()[1]);
    assert!(matches!(
        hcl_kernels::diff::diff(a, b),
        Err(hcl_kernel_engine::Error::Filtered(_))
    ));
    assert!(sample::modaliases(&filtered, &["debian-13"], 5, 1).is_err());
}
