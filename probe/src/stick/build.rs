//! `hcl-probe stick build`: the bootable image, from kernels' distribution packages.
//!
//! Each kernel is read with the importers of `hcl-kernels` (the same code that imports
//! profiles): its EFI-stub image, its modules with their `depends=`, and the profile imported
//! from those very packages (the prediction the observation is checked against). The boot
//! loader is systemd-boot from Debian's `systemd-boot-efi` package: one small EFI binary that
//! reads plain-text entries from the stick and does boot counting on the stick's own files,
//! which is what moves the tour on without touching NVRAM.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use gpt::disk::LogicalBlockSize;
use hcl_kernels::binary::ModuleSet;
use hcl_kernels::{Catalog, ProfileBuilder, ProfileMeta};

use super::StickError;
use super::disk::{FileTimes, Span, ensure_dir, open_fs_dated, write_file};
use super::initramfs::{Archive, Compression};
use super::layout::{
    BOOT_PARTITION, ENTRIES_DIR, Encoding, FORMAT, IndexedModule, MODULE_INDEX_FILE,
    MODULES_PARTITION, ModuleIndex, PLAN_FILE, PROFILE_DIR, Plan, PlannedKernel, RESULTS_PARTITION,
    StoredModule, entry_name,
};

/// Where Debian's systemd-boot-efi package puts the loader.
pub const SYSTEMD_BOOT: &str = "usr/lib/systemd/boot/efi/systemd-bootx64.efi";
const MIB: u64 = 1 << 20;

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub out: PathBuf,
    /// One list of packages (or a module tree) per kernel, in boot order.
    pub kernels: Vec<Vec<PathBuf>>,
    /// Firmware packages put into every initramfs.
    pub firmware: Vec<PathBuf>,
    /// systemd-boot: its .efi, or Debian's systemd-boot-efi .deb; None looks on this system.
    pub loader: Option<PathBuf>,
    /// The static `hcl-probe` that becomes each kernel's /init.
    pub init: PathBuf,
    pub results_mib: u64,
    pub settle_secs: u32,
    pub deadline_secs: u32,
    /// Appended to every kernel command line (`console=ttyS0,115200`).
    pub append: String,
    /// The build's moment, in seconds since the Unix epoch (a release build's
    /// `SOURCE_DATE_EPOCH`): it dates the image's files and seeds its GUIDs, so the same inputs
    /// give the same bytes. None: the files get the time of the build, the GUIDs are random.
    pub source_date_epoch: Option<u64>,
}

impl BuildOptions {
    pub fn new(out: PathBuf, kernels: Vec<Vec<PathBuf>>, init: PathBuf) -> Self {
        BuildOptions {
            out,
            kernels,
            firmware: Vec::new(),
            loader: None,
            init,
            results_mib: 64,
            settle_secs: 3,
            deadline_secs: 300,
            append: String::new(),
            source_date_epoch: None,
        }
    }
}

/// What was built.
#[derive(Debug, Clone)]
pub struct Built {
    pub image_bytes: u64,
    pub kernels: Vec<BuiltKernel>,
    pub seconds: f64,
}

#[derive(Debug, Clone)]
pub struct BuiltKernel {
    pub release: String,
    pub image_bytes: u64,
    pub initrd_bytes: u64,
    /// Modules in all (initramfs and modules partition).
    pub modules: usize,
    /// Of those, in the initramfs (what reaches the stick).
    pub initrd_modules: usize,
    /// Bytes of this kernel's modules on the modules partition.
    pub stored_bytes: u64,
}

/// One kernel, read and packed.
struct Packed {
    planned: PlannedKernel,
    vmlinuz: Vec<u8>,
    /// Built once the plan is complete (the plan goes into every initramfs).
    archive_parts: ArchiveParts,
}

struct ArchiveParts {
    release: String,
    profile: Vec<u8>,
    index: ModuleIndex,
    /// Module files of the initramfs, by path.
    modules: BTreeMap<String, Vec<u8>>,
    /// Modules for the modules partition, by name; placed once every kernel is read.
    stored: BTreeMap<String, (Vec<u8>, Encoding)>,
    firmware: BTreeMap<String, Vec<u8>>,
    compression: Compression,
}

/// The image's GUIDs: random, or, given the build's epoch (a release build), drawn from a
/// generator seeded by it and the kernels' releases, so that the same inputs give the same
/// image bytes.
fn guid_generator<'a>(
    epoch: Option<u64>,
    releases: impl Iterator<Item = &'a str>,
) -> impl FnMut() -> String {
    use rand::{RngCore, SeedableRng};
    let mut rng = match epoch {
        Some(epoch) => {
            // FNV-1a over the releases: a stable, dependency-free mix for the seed.
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in releases.flat_map(|r| r.bytes().chain([0])) {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&epoch.to_le_bytes());
            seed[8..16].copy_from_slice(&h.to_le_bytes());
            rand::rngs::StdRng::from_seed(seed)
        }
        None => rand::rngs::StdRng::from_os_rng(),
    };
    move || {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }
}

/// Builds the image; `say` gets one line per step.
pub fn build(opts: &BuildOptions, say: &dyn Fn(&str)) -> Result<Built, StickError> {
    let started = Instant::now();
    if opts.kernels.is_empty() {
        return Err(StickError::Build("no --kernel given".into()));
    }
    if opts.out.exists() {
        return Err(StickError::Build(format!(
            "{}: already exists; give a new file name (the builder never overwrites)",
            opts.out.display()
        )));
    }
    let init = read_init(&opts.init)?;
    let loader = read_loader(opts.loader.as_deref())?;
    let embedded = Catalog::embedded().map_err(|e| StickError::Kernel(e.to_string()))?;

    let mut packed: Vec<Packed> = Vec::new();
    for (i, sources) in opts.kernels.iter().enumerate() {
        let entry = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let p = pack_kernel(entry, sources, &opts.firmware, &embedded, say)?;
        if let Some(other) = packed
            .iter()
            .find(|o| o.planned.release == p.planned.release)
        {
            return Err(StickError::Build(format!(
                "kernel {} and kernel {} are the same release {}",
                other.planned.entry, entry, p.planned.release
            )));
        }
        packed.push(p);
    }

    // Each kernel's stored modules, one after the other on the modules partition.
    let mut stored_bytes = 0u64;
    for p in &mut packed {
        let parts = &mut p.archive_parts;
        for (name, (bytes, encoding)) in &parts.stored {
            if let Some(m) = parts.index.modules.get_mut(name) {
                let len = bytes.len() as u64;
                m.stored = Some(StoredModule {
                    offset: stored_bytes,
                    len,
                    encoding: *encoding,
                });
                stored_bytes += len;
            }
        }
    }

    let mut guid = guid_generator(
        opts.source_date_epoch,
        packed.iter().map(|p| p.planned.release.as_str()),
    );
    let mut plan = Plan {
        format: FORMAT,
        disk_guid: guid(),
        boot_partition_guid: guid(),
        results_partition_guid: guid(),
        kernels: packed.iter().map(|p| p.planned.clone()).collect(),
        this_entry: 0,
        settle_secs: opts.settle_secs,
        deadline_secs: opts.deadline_secs,
    };
    let mut initrds = Vec::new();
    for p in &packed {
        plan.this_entry = p.planned.entry;
        let t = Instant::now();
        let initrd = make_initrd(&plan, &p.archive_parts, &init)?;
        say(&format!(
            "kernel {}: initramfs {:.1} MiB ({} of {} modules, {:?}) in {:.1} s",
            p.planned.entry,
            initrd.len() as f64 / MIB as f64,
            p.archive_parts.modules.len(),
            p.archive_parts.index.modules.len(),
            p.archive_parts.compression,
            t.elapsed().as_secs_f64()
        ));
        initrds.push(initrd);
    }
    plan.this_entry = 0;
    let plan_json = to_json(&plan)?;

    // Boot partition: the files plus room for FAT's tables and the entries' renames.
    let payload: u64 = packed.iter().map(|p| p.vmlinuz.len() as u64).sum::<u64>()
        + initrds.iter().map(|i| i.len() as u64).sum::<u64>()
        + loader.len() as u64;
    let boot_bytes = round_mib(payload + payload / 20 + 16 * MIB).max(64 * MIB);
    let results_bytes = opts.results_mib.max(8) * MIB;
    let modules_bytes = round_mib(stored_bytes).max(MIB);
    let total = MIB + boot_bytes + results_bytes + modules_bytes + MIB;

    let tmp = opts.out.with_extension("partial");
    let times = opts.source_date_epoch.map_or(FileTimes::Now, FileTimes::At);
    let result = (|| -> Result<(), StickError> {
        let io = |e: std::io::Error| StickError::io(&tmp, e);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io)?;
        file.set_len(total).map_err(io)?;
        let (boot, results, modules) =
            write_gpt(&file, &plan, [boot_bytes, results_bytes, modules_bytes])
                .map_err(|e| StickError::Build(format!("{}: GPT: {e}", tmp.display())))?;
        say(&format!(
            "writing the boot partition ({} MiB), the results partition ({} MiB) and the \
             modules partition ({} MiB)",
            boot_bytes / MIB,
            results_bytes / MIB,
            modules_bytes / MIB
        ));
        for p in &packed {
            let parts = &p.archive_parts;
            for (name, (bytes, _)) in &parts.stored {
                if let Some(at) = parts.index.modules.get(name).and_then(|m| m.stored) {
                    file.write_all_at(bytes, modules.start + at.offset)
                        .map_err(io)?;
                }
            }
        }
        format(&file, boot, *b"HCLPROBEBOO").map_err(io)?;
        format(&file, results, *b"HCLPROBERES").map_err(io)?;
        {
            let fs = open_fs_dated(&file, boot, times).map_err(io)?;
            let root = fs.root_dir();
            write_file(
                &ensure_dir(&root, "EFI/BOOT").map_err(io)?,
                "BOOTX64.EFI",
                &loader,
            )
            .map_err(io)?;
            let loader_dir = ensure_dir(&root, "loader").map_err(io)?;
            write_file(&loader_dir, "loader.conf", LOADER_CONF.as_bytes()).map_err(io)?;
            let entries = ensure_dir(&root, ENTRIES_DIR).map_err(io)?;
            write_file(
                &ensure_dir(&root, "hcl").map_err(io)?,
                "stick.json",
                &plan_json,
            )
            .map_err(io)?;
            for (p, initrd) in packed.iter().zip(&initrds) {
                let n = entry_name(p.planned.entry);
                let dir = ensure_dir(&root, &format!("hcl/{n}")).map_err(io)?;
                write_file(&dir, "vmlinuz", &p.vmlinuz).map_err(io)?;
                write_file(&dir, "initrd", initrd).map_err(io)?;
                let conf = entry_conf(&p.planned, &n, &opts.append);
                write_file(&entries, &format!("{n}+1.conf"), conf.as_bytes()).map_err(io)?;
            }
            drop(entries);
            drop(loader_dir);
            drop(root);
            fs.unmount().map_err(io)?;
        }
        {
            let fs = open_fs_dated(&file, results, times).map_err(io)?;
            let root = fs.root_dir();
            write_file(
                &ensure_dir(&root, "hcl").map_err(io)?,
                "stick.json",
                &plan_json,
            )
            .map_err(io)?;
            write_file(&root, "README.TXT", RESULTS_README.as_bytes()).map_err(io)?;
            drop(root);
            fs.unmount().map_err(io)?;
        }
        file.sync_all().map_err(io)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &opts.out).map_err(|e| StickError::io(&opts.out, e))?;
    Ok(Built {
        image_bytes: total,
        kernels: packed
            .iter()
            .zip(&initrds)
            .map(|(p, i)| BuiltKernel {
                release: p.planned.release.clone(),
                image_bytes: p.vmlinuz.len() as u64,
                initrd_bytes: i.len() as u64,
                modules: p.archive_parts.index.modules.len(),
                initrd_modules: p.archive_parts.modules.len(),
                stored_bytes: p
                    .archive_parts
                    .stored
                    .values()
                    .map(|(b, _)| b.len() as u64)
                    .sum(),
            })
            .collect(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

const LOADER_CONF: &str = "timeout 0\nconsole-mode keep\neditor no\nauto-entries no\n\
    auto-firmware no\nrandom-seed-mode off\n";

const RESULTS_README: &str = "HCL Probe observation stick: results.\r\n\
    runs/sNNNN/entry-NN.json is what kernel NN did on the machine in session NNNN.\r\n\
    Read them with `hcl-probe stick results IMAGE-OR-DEVICE`, send them with\r\n\
    `hcl-probe upload --from IMAGE-OR-DEVICE`.\r\n";

/// A loader entry. `panic=10` and the panic-on-hang switches make a failing kernel reboot, and
/// the boot counter then skips it: `softlockup_panic=1`, `hung_task_panic=1` (a task stuck
/// 120 s), `nmi_watchdog=panic` (a CPU stuck with interrupts off; Debian builds the hard
/// lockup detector but leaves `BOOTPARAM_HARDLOCKUP_PANIC` unset). No efi_pstore, so a panic
/// writes nothing to NVRAM either.
/// `intel_iommu=on`: Debian's 6.1 and 7.3.4 turn VT-d on by default except for the integrated
/// GPU (`CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF`, which maps it 1:1); `on` translates that
/// one too, and turns VT-d on in kernels built with it off (`INTEL_IOMMU_DEFAULT_OFF`).
/// AMD-Vi is on by default wherever the firmware describes it: `amd_iommu=` has no "on" (6.1
/// knows `off`, `force_enable`, `force_isolation`, ...), so nothing is passed for it.
fn entry_conf(k: &PlannedKernel, name: &str, append: &str) -> String {
    format!(
        "title HCL Probe {entry}: {release}\nsort-key {name}\nversion {release}\n\
         linux /hcl/{name}/vmlinuz\ninitrd /hcl/{name}/initrd\n\
         options console=tty0 panic=10 oops=panic softlockup_panic=1 hung_task_panic=1 \
         nmi_watchdog=panic intel_iommu=on log_buf_len=4M efi_pstore.pstore_disable=1 loglevel=4 \
         hcl.entry={entry} {append}\n",
        entry = k.entry,
        release = k.release,
    )
}

fn round_mib(n: u64) -> u64 {
    n.div_ceil(MIB) * MIB
}

/// Reads one kernel's packages and prepares its initramfs contents.
fn pack_kernel(
    entry: u32,
    sources: &[PathBuf],
    firmware: &[PathBuf],
    embedded: &Catalog,
    say: &dyn Fn(&str),
) -> Result<Packed, StickError> {
    let t = Instant::now();
    let shown: Vec<String> = sources.iter().map(|p| p.display().to_string()).collect();
    say(&format!("kernel {entry}: reading {}", shown.join(", ")));
    let mut all = sources.to_vec();
    all.extend(firmware.iter().cloned());
    let last = std::cell::Cell::new(0u64);
    let progress = |done: u64, total: u64| {
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        if pct >= last.get() + 25 {
            last.set(pct);
            say(&format!("kernel {entry}: {pct}% read"));
        }
    };
    let (set, files) = hcl_kernels::binary::read_sources_with_files(&all, &progress)
        .map_err(|e| StickError::Kernel(format!("kernel {entry}: {e}")))?;
    let release = set.kernel_version.clone();
    let Some(vmlinuz) = files.image.clone() else {
        return Err(StickError::Kernel(format!(
            "kernel {entry} ({release}): no kernel image (boot/vmlinuz-* or \
             lib/modules/*/vmlinuz) in {}; a 7.x Debian kernel needs its linux-binary package \
             beside linux-modules and linux-base",
            shown.join(", ")
        )));
    };
    if !is_efi_stub(&vmlinuz) {
        return Err(StickError::Kernel(format!(
            "kernel {entry} ({release}): the image is not an EFI executable (no EFI stub): it \
             cannot boot from this stick"
        )));
    }
    let profile_id = hcl_data::own_profile_id(&release);
    let meta = ProfileMeta {
        id: profile_id.clone(),
        distro: "stick".into(),
        release: release.clone(),
        package_version: set.packages.join(", "),
        ..Default::default()
    };
    let mut builder = ProfileBuilder::from_module_set(meta, &set, None);
    builder.infer_from_catalog(embedded);
    let profile = builder
        .build()
        .encode()
        .map_err(|e| StickError::Kernel(e.to_string()))?;
    let config = set.config.as_deref();
    let kernel_decompresses = config_set(config, "CONFIG_MODULE_DECOMPRESS");
    let (index, modules, stored) = select_modules(&set, files.modules, kernel_decompresses)?;
    say(&format!(
        "kernel {entry}: {release}, {} of {} modules drive devices (with what they need), read \
         in {:.1} s",
        index.modules.len(),
        set.modules.len(),
        t.elapsed().as_secs_f64()
    ));
    Ok(Packed {
        planned: PlannedKernel {
            entry,
            release: release.clone(),
            profile_id,
            packages: set.packages.clone(),
        },
        vmlinuz,
        archive_parts: ArchiveParts {
            release,
            profile,
            index,
            modules,
            stored,
            firmware: files.firmware,
            compression: Compression::for_config(config),
        },
    })
}

fn config_set(config: Option<&str>, key: &str) -> bool {
    config.is_some_and(|c| c.lines().any(|l| l.trim() == format!("{key}=y")))
}

/// A PE image (`MZ`, then `PE\0\0` where the DOS header points): what UEFI can start.
fn is_efi_stub(image: &[u8]) -> bool {
    let Some(offset) = image.get(0x3c..0x40) else {
        return false;
    };
    let offset = u32::from_le_bytes([offset[0], offset[1], offset[2], offset[3]]) as usize;
    image.starts_with(b"MZ") && image.get(offset..offset + 4) == Some(b"PE\0\0")
}

/// An alias that names a device (`pci:`, `usb:`, `acpi*:`, `hdaudio:`...), not a file system,
/// protocol or device node (`fs-ext4`, `net-pf-10`, `devname:fuse`).
fn device_alias(alias: &str) -> bool {
    alias
        .split_once(':')
        .is_some_and(|(bus, _)| !bus.is_empty() && bus != "devname" && !bus.contains('-'))
}

/// Modules that stay in the initramfs: what the init needs to reach the stick before it can
/// read the others from it. USB host controllers, USB storage, SCSI disks, by their place in
/// the tree (plus what they depend on).
fn reaches_the_stick(path: &str) -> bool {
    path.starts_with("kernel/drivers/usb/host/")
        || path.starts_with("kernel/drivers/usb/storage/")
        || path.starts_with("kernel/drivers/scsi/sd_mod.ko")
}

/// The modules of one kernel, as the initramfs files and the modules partition hold them.
type Selected = (
    ModuleIndex,
    BTreeMap<String, Vec<u8>>,
    BTreeMap<String, (Vec<u8>, Encoding)>,
);

/// The modules a device can ask for (an alias on a device bus) and every module they need:
/// those that reach the stick (and their dependencies) as initramfs files, the others for the
/// modules partition, compressed as the kernel unpacks them or with zstd for the init to unpack.
fn select_modules(
    set: &ModuleSet,
    mut files: BTreeMap<String, Vec<u8>>,
    kernel_decompresses: bool,
) -> Result<Selected, StickError> {
    let by_name: BTreeMap<&str, &hcl_kernels::binary::ModuleInfo> =
        set.modules.iter().map(|m| (m.name.as_str(), m)).collect();
    let with_needs = |roots: Vec<&str>| -> BTreeSet<String> {
        let mut out: BTreeSet<String> = roots.iter().map(|s| s.to_string()).collect();
        let mut queue: Vec<String> = out.iter().cloned().collect();
        while let Some(name) = queue.pop() {
            let Some(m) = by_name.get(name.as_str()) else {
                continue;
            };
            for dep in m.depends.iter().chain(&m.softdep_pre) {
                if by_name.contains_key(dep.as_str()) && out.insert(dep.clone()) {
                    queue.push(dep.clone());
                }
            }
        }
        out
    };
    let wanted = with_needs(
        set.modules
            .iter()
            .filter(|m| m.aliases.iter().any(|a| device_alias(a)))
            .map(|m| m.name.as_str())
            .collect(),
    );
    let early = with_needs(
        set.modules
            .iter()
            .filter(|m| wanted.contains(&m.name) && reaches_the_stick(&m.path))
            .map(|m| m.name.as_str())
            .collect(),
    );
    let mut index = ModuleIndex {
        release: set.kernel_version.clone(),
        kernel_decompresses,
        modules: BTreeMap::new(),
    };
    let mut initrd = BTreeMap::new();
    let mut stored = BTreeMap::new();
    for name in &wanted {
        let Some(m) = by_name.get(name.as_str()) else {
            continue;
        };
        let Some(bytes) = files.remove(&m.path) else {
            continue;
        };
        let compressed = [".xz", ".zst", ".gz"].iter().any(|s| m.path.ends_with(s));
        let path = if early.contains(name) {
            let (path, bytes) = if kernel_decompresses {
                (m.path.clone(), bytes)
            } else {
                decompress_module(&m.path, bytes)?
            };
            initrd.insert(path.clone(), bytes);
            path
        } else if compressed && kernel_decompresses {
            stored.insert(name.clone(), (bytes, Encoding::Kernel));
            m.path.clone()
        } else {
            let (path, plain) = decompress_module(&m.path, bytes)?;
            let packed = zstd::bulk::compress(&plain, 9).map_err(|e| {
                StickError::Build(format!("{path}: compressing for the stick: {e}"))
            })?;
            stored.insert(name.clone(), (packed, Encoding::Zstd));
            path
        };
        index.modules.insert(
            name.clone(),
            IndexedModule {
                path,
                stored: None,
                depends: m.depends.clone(),
                softdep_pre: m.softdep_pre.clone(),
            },
        );
    }
    Ok((index, initrd, stored))
}

/// A compressed module as a plain .ko, for kernels that cannot decompress modules themselves.
fn decompress_module(path: &str, bytes: Vec<u8>) -> Result<(String, Vec<u8>), StickError> {
    let fail = |e: std::io::Error| StickError::Kernel(format!("{path}: decompressing: {e}"));
    let mut out = Vec::new();
    if let Some(plain) = path.strip_suffix(".xz") {
        liblzma::read::XzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(fail)?;
        Ok((plain.to_owned(), out))
    } else if let Some(plain) = path.strip_suffix(".zst") {
        zstd::Decoder::new(&bytes[..])
            .and_then(|mut d| d.read_to_end(&mut out))
            .map_err(fail)?;
        Ok((plain.to_owned(), out))
    } else if let Some(plain) = path.strip_suffix(".gz") {
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(fail)?;
        Ok((plain.to_owned(), out))
    } else {
        Ok((path.to_owned(), bytes))
    }
}

fn make_initrd(plan: &Plan, parts: &ArchiveParts, init: &[u8]) -> Result<Vec<u8>, StickError> {
    let mut a = Archive::new();
    a.file("init", init, true);
    a.file(PLAN_FILE, &to_json(plan)?, false);
    a.file(MODULE_INDEX_FILE, &to_json(&parts.index)?, false);
    let profile_id = plan
        .kernel(plan.this_entry)
        .map(|k| k.profile_id.clone())
        .unwrap_or_default();
    a.file(
        &format!("{PROFILE_DIR}/{profile_id}.profile.zst"),
        &parts.profile,
        false,
    );
    for (path, bytes) in &parts.modules {
        a.file(
            &format!("lib/modules/{}/{path}", parts.release),
            bytes,
            false,
        );
    }
    for (path, bytes) in &parts.firmware {
        a.file(&format!("lib/firmware/{path}"), bytes, false);
    }
    a.finish(parts.compression)
        .map_err(|e| StickError::Build(format!("initramfs: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StickError> {
    serde_json::to_vec_pretty(value).map_err(|e| StickError::Build(e.to_string()))
}

/// The init binary: it must be static (the initramfs has no libraries).
fn read_init(path: &Path) -> Result<Vec<u8>, StickError> {
    let bytes = std::fs::read(path).map_err(|e| StickError::io(path, e))?;
    if !is_static_elf(&bytes) {
        return Err(StickError::Build(format!(
            "{}: not a static x86-64 executable; the init must be the static hcl-probe: \
             RUSTFLAGS='-C target-feature=+crt-static' cargo build --release -p hcl-probe \
             --no-default-features --target x86_64-unknown-linux-gnu",
            path.display()
        )));
    }
    Ok(bytes)
}

/// An x86-64 ELF executable without a program interpreter (`PT_INTERP`).
pub fn is_static_elf(b: &[u8]) -> bool {
    let u16_at = |o: usize| b.get(o..o + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let u32_at = |o: usize| {
        b.get(o..o + 4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    };
    let u64_at = |o: usize| {
        b.get(o..o + 8).map(|s| {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_le_bytes(a)
        })
    };
    if !b.starts_with(b"\x7fELF\x02\x01") || u16_at(18) != Some(62) {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(32), u16_at(54), u16_at(56)) else {
        return false;
    };
    (0..usize::from(phnum)).all(|i| {
        let at = usize::try_from(phoff).unwrap_or(usize::MAX) + i * usize::from(phentsize);
        u32_at(at).is_some_and(|t| t != 3)
    })
}

/// systemd-boot: the .efi given, the one inside a systemd-boot-efi .deb given, or this
/// system's.
fn read_loader(given: Option<&Path>) -> Result<Vec<u8>, StickError> {
    let system = Path::new("/").join(SYSTEMD_BOOT);
    let path = given.unwrap_or(&system);
    let bytes = if path.extension().is_some_and(|e| e == "deb") {
        hcl_kernels::binary::read_deb_file(path, SYSTEMD_BOOT, 16 * MIB)
            .map_err(|e| StickError::Build(e.to_string()))?
            .ok_or_else(|| {
                StickError::Build(format!(
                    "{}: holds no {SYSTEMD_BOOT}; give Debian's systemd-boot-efi package",
                    path.display()
                ))
            })?
    } else {
        std::fs::read(path).map_err(|e| {
            StickError::Build(format!(
                "boot loader {}: {e}; give --loader with Debian's systemd-boot-efi .deb \
                 (apt-get download systemd-boot-efi) or its systemd-bootx64.efi",
                path.display()
            ))
        })?
    };
    if !is_efi_stub(&bytes) {
        return Err(StickError::Build(format!(
            "{}: not an EFI executable",
            path.display()
        )));
    }
    Ok(bytes)
}

/// The modules partition's GUID, derived from the disk's: the init never looks for it, and an
/// image whose plan GUIDs are reproducible (a release build) stays so.
fn modules_partition_guid(disk: uuid::Uuid) -> uuid::Uuid {
    let mut bytes = *disk.as_bytes();
    bytes.reverse();
    bytes.iter_mut().for_each(|b| *b ^= 0x5a);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Protective MBR and GPT with the plan's GUIDs; returns the spans of the boot, results and
/// modules partitions (`sizes` in that order).
fn write_gpt(file: &File, plan: &Plan, sizes: [u64; 3]) -> Result<(Span, Span, Span), String> {
    let e = |x: &dyn std::fmt::Display| x.to_string();
    let guid = |s: &str| uuid::Uuid::parse_str(s).map_err(|x| e(&x));
    let total_sectors = file.metadata().map_err(|x| e(&x))?.len() / 512;
    let mut dev = file.try_clone().map_err(|x| e(&x))?;
    let mbr = gpt::mbr::ProtectiveMBR::with_lb_size(
        u32::try_from(total_sectors - 1).unwrap_or(0xFFFF_FFFF),
    );
    mbr.overwrite_lba0(&mut dev).map_err(|x| e(&x))?;
    let mut disk = gpt::GptConfig::new()
        .writable(true)
        .logical_block_size(LogicalBlockSize::Lb512)
        .create_from_device(dev, Some(guid(&plan.disk_guid)?))
        .map_err(|x| e(&x))?;
    disk.update_partitions(BTreeMap::new()).map_err(|x| e(&x))?;
    let kinds = [
        (BOOT_PARTITION, gpt::partition_types::EFI),
        (RESULTS_PARTITION, gpt::partition_types::BASIC),
        // Raw bytes: Linux data, so no desktop offers to open or format it.
        (MODULES_PARTITION, gpt::partition_types::LINUX_FS),
    ];
    for ((name, kind), size) in kinds.into_iter().zip(sizes) {
        disk.add_partition(name, size, kind, 0, Some(2048))
            .map_err(|x| e(&x))?;
    }
    let mut parts = disk.take_partitions();
    let mut spans = Vec::new();
    for (p, g) in parts.values_mut().zip([
        guid(&plan.boot_partition_guid)?,
        guid(&plan.results_partition_guid)?,
        modules_partition_guid(guid(&plan.disk_guid)?),
    ]) {
        p.part_guid = g;
        spans.push(Span {
            start: p.bytes_start(LogicalBlockSize::Lb512).map_err(|x| e(&x))?,
            len: p.bytes_len(LogicalBlockSize::Lb512).map_err(|x| e(&x))?,
            guid: g,
        });
    }
    disk.update_partitions(parts).map_err(|x| e(&x))?;
    disk.write().map_err(|x| e(&x))?;
    match spans.as_slice() {
        [a, b, c] => Ok((*a, *b, *c)),
        _ => Err("partitions missing after writing".into()),
    }
}

/// An image with the stick's partitions and file systems but no kernel (tests of what the init
/// writes): the boot partition 8 MiB, the results partition `results_mib`.
#[cfg(test)]
pub(crate) fn blank_stick(path: &Path, results_mib: u64) -> Result<Plan, StickError> {
    let plan = Plan {
        format: FORMAT,
        disk_guid: uuid::Uuid::new_v4().to_string(),
        boot_partition_guid: uuid::Uuid::new_v4().to_string(),
        results_partition_guid: uuid::Uuid::new_v4().to_string(),
        kernels: Vec::new(),
        this_entry: 0,
        settle_secs: 3,
        deadline_secs: 300,
    };
    let io = |e: std::io::Error| StickError::io(path, e);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    let sizes = [8 * MIB, results_mib * MIB, MIB];
    file.set_len(MIB + sizes.iter().sum::<u64>() + MIB)
        .map_err(io)?;
    let (boot, results, _) = write_gpt(&file, &plan, sizes).map_err(StickError::Build)?;
    format(&file, boot, *b"HCLPROBEBOO").map_err(io)?;
    format(&file, results, *b"HCLPROBERES").map_err(io)?;
    let fs = open_fs_dated(&file, results, FileTimes::Now).map_err(io)?;
    write_file(
        &ensure_dir(&fs.root_dir(), "hcl").map_err(io)?,
        "stick.json",
        &to_json(&plan)?,
    )
    .map_err(io)?;
    fs.unmount().map_err(io)?;
    Ok(plan)
}

fn format(file: &File, span: Span, label: [u8; 11]) -> std::io::Result<()> {
    let mut slice =
        fscommon::StreamSlice::new(file.try_clone()?, span.start, span.start + span.len)?;
    fatfs::format_volume(
        &mut slice,
        fatfs::FormatVolumeOptions::new().volume_label(label),
    )?;
    slice.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A release image (`cargo xtask dist --stick-kernel`) must be the same bytes when built
    /// again: its GUIDs come from SOURCE_DATE_EPOCH and the kernels, not from chance.
    #[test]
    fn release_images_have_guids_from_epoch_and_kernels() {
        let draw = |epoch, releases: &[&str]| {
            let mut g = guid_generator(epoch, releases.iter().copied());
            [g(), g(), g()]
        };
        let a = draw(
            Some(1_764_850_000),
            &["6.1.0-50-amd64", "7.3.4+deb13-amd64"],
        );
        assert_eq!(
            a,
            draw(
                Some(1_764_850_000),
                &["6.1.0-50-amd64", "7.3.4+deb13-amd64"]
            )
        );
        assert_ne!(a[0], a[1], "three distinct GUIDs in one image");
        assert_ne!(
            a,
            draw(
                Some(1_764_850_001),
                &["6.1.0-50-amd64", "7.3.4+deb13-amd64"]
            )
        );
        assert_ne!(a, draw(Some(1_764_850_000), &["6.1.0-50-amd64"]));
        assert_ne!(
            draw(None, &["6.1.0-50-amd64"]),
            draw(None, &["6.1.0-50-amd64"])
        );
        for g in a {
            let u = uuid::Uuid::parse_str(&g).unwrap();
            assert_eq!(u.get_version_num(), 4, "{g}");
        }
    }

    /// The build's epoch dates the files the builder writes; what runs on the stick (the init,
    /// through `StickDisk::fs`) writes with the real time on the same image.
    #[test]
    fn build_epoch_dates_built_files_and_the_init_keeps_the_real_time() {
        use super::super::disk::{Part, StickDisk};
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = tmp.path().join("stick.img");
        blank_stick(&path, 8).unwrap_or_else(|e| panic!("{e}"));
        let disk = StickDisk::open(&path, true).unwrap_or_else(|e| panic!("{e}"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{e}"));
        // 2023-11-14 22:13:20 UTC.
        let fs = open_fs_dated(&file, disk.results, FileTimes::At(1_700_000_000))
            .unwrap_or_else(|e| panic!("{e}"));
        write_file(&fs.root_dir(), "BUILT.TXT", b"built").unwrap_or_else(|e| panic!("{e}"));
        fs.unmount().unwrap_or_else(|e| panic!("{e}"));
        let today = || {
            jiff::tz::Offset::UTC
                .to_datetime(jiff::Timestamp::now())
                .date()
        };
        let before = today();
        let fs = disk.fs(Part::Results).unwrap_or_else(|e| panic!("{e}"));
        write_file(&fs.root_dir(), "RUN.TXT", b"run").unwrap_or_else(|e| panic!("{e}"));
        fs.unmount().unwrap_or_else(|e| panic!("{e}"));
        let after = today();

        let fs = disk.fs(Part::Results).unwrap_or_else(|e| panic!("{e}"));
        let entry = |name: &str| {
            fs.root_dir()
                .iter()
                .filter_map(Result::ok)
                .find(|e| e.file_name() == name)
                .unwrap_or_else(|| panic!("{name} missing"))
        };
        let built = entry("BUILT.TXT");
        for t in [built.created(), built.modified()] {
            assert_eq!(
                (t.date.year, t.date.month, t.date.day),
                (2023, 11, 14),
                "{t:?}"
            );
            assert_eq!((t.time.hour, t.time.min, t.time.sec), (22, 13, 20), "{t:?}");
        }
        let run = entry("RUN.TXT").modified().date;
        let run = (
            i16::try_from(run.year).unwrap_or(0),
            i8::try_from(run.month).unwrap_or(0),
            i8::try_from(run.day).unwrap_or(0),
        );
        assert!(
            [before, after]
                .iter()
                .any(|d| (d.year(), d.month(), d.day()) == run),
            "the init's file is dated {run:?}, not today ({before})"
        );
    }

    #[test]
    fn device_aliases() {
        for a in [
            "pci:v00008086d*",
            "usb:v046Dp*",
            "acpi*:PNP0303:*",
            "hdaudio:v*",
        ] {
            assert!(device_alias(a), "{a}");
        }
        for a in [
            "fs-ext4",
            "net-pf-10",
            "devname:fuse",
            "char-major-10-229",
            "crypto-aes",
        ] {
            assert!(!device_alias(a), "{a}");
        }
    }

    #[test]
    fn static_elf_check() {
        let exe = std::fs::read("/proc/self/exe").unwrap_or_default();
        // The test binary is linked dynamically.
        assert!(!is_static_elf(&exe));
        assert!(!is_static_elf(b"MZ"));
    }
}
