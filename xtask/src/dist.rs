//! `cargo xtask dist`: the release artifacts of one commit.
//!
//! Each binary is built by its own `cargo auditable build -p PACKAGE` (so its dependency
//! features are those of the package alone, as a person rebuilding just the probe gets them)
//! in the environment of [`crate::env::BuildEnv`], copied to
//! `OUT/<binary>-<version>-x86_64-linux`, checked (`--version` names the commit, `file` says
//! static, the dependency list is embedded) and listed in `OUT/SHA256SUMS`, which `--sign`
//! signs with minisign.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};

use crate::checkout::Checkout;
use crate::env::{BuildEnv, TARGET, Toolchain};
use crate::{cmd, inspect, sign, sums};

/// The cargo-auditable release every dist is built with: its embedded data is part of the
/// binaries' bytes, so a rebuild must use the same one.
pub const AUDITABLE_VERSION: &str = "0.7.7";

/// A binary of the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Binary {
    #[value(name = "hcl-probe")]
    Probe,
    #[value(name = "hcl-kernels")]
    Kernels,
    #[value(name = "hcl-aggregator")]
    Aggregator,
}

impl Binary {
    pub const ALL: [Binary; 3] = [Binary::Probe, Binary::Kernels, Binary::Aggregator];

    /// Package and binary name (they are the same for all three).
    pub fn name(self) -> &'static str {
        match self {
            Binary::Probe => "hcl-probe",
            Binary::Kernels => "hcl-kernels",
            Binary::Aggregator => "hcl-aggregator",
        }
    }

    /// Statically linked: the probe runs on any live distro, and so does the offline kernel
    /// tool. The aggregator is a server that resolves host names (PostgreSQL) through glibc's
    /// NSS, which static glibc binaries can only do with the build host's glibc: it is linked
    /// dynamically (glibc of the build host or newer).
    pub fn static_crt(self) -> bool {
        !matches!(self, Binary::Aggregator)
    }

    /// Cargo flags choosing the binary's features: the released probe (also every stick's
    /// /init) leaves out the stick builder, which links the kernel importers.
    pub fn feature_args(self) -> &'static [&'static str] {
        match self {
            Binary::Probe => &["--no-default-features"],
            Binary::Kernels | Binary::Aggregator => &[],
        }
    }

    /// `hcl-probe-0.1.0-x86_64-linux`.
    pub fn file_name(self, version: &str) -> String {
        format!("{}-{version}-x86_64-linux", self.name())
    }
}

/// What `dist` is asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// The workspace root (a git checkout).
    pub root: PathBuf,
    pub out: PathBuf,
    /// Default: `target/dist` under cargo's target directory.
    pub target_dir: Option<PathBuf>,
    /// minisign secret key to sign `SHA256SUMS` with.
    pub sign: Option<PathBuf>,
    pub allow_dirty: bool,
    pub binaries: Vec<Binary>,
    /// `bin` folder of the toolchain to build with (default: `cargo`/`rustc` on `PATH`).
    pub toolchain_bin: Option<PathBuf>,
    /// Cargo home to build with (default: `CARGO_HOME` or `~/.cargo`).
    pub cargo_home: Option<PathBuf>,
    /// More environment for the builds (the reproducibility check varies `HOME`).
    pub extra_env: Vec<(OsString, OsString)>,
    /// Also write a stick image from these kernel packages (needs the probe among `binaries`).
    pub stick: Option<Stick>,
}

/// The observation stick image of a release: `hcl-probe stick build` with the released probe
/// as every kernel's /init.
#[derive(Debug, Clone, Default)]
pub struct Stick {
    /// One entry per kernel: its package files, comma-separated (as `stick build --kernel`).
    pub kernels: Vec<String>,
    /// Firmware packages (`stick build --firmware`).
    pub firmware: Vec<PathBuf>,
    /// systemd-boot-efi package or EFI binary (`stick build --loader`).
    pub loader: Option<PathBuf>,
}

impl Stick {
    /// `hcl-probe-stick-0.1.0.img`.
    pub fn file_name(version: &str) -> String {
        format!("hcl-probe-stick-{version}.img")
    }
}

/// One file written to the dist folder.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub binary: Binary,
    pub version: String,
    pub file_name: String,
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    pub build_secs: f64,
    /// CPU seconds of the build (cargo and everything it ran).
    pub cpu_secs: Option<f64>,
    pub file_description: String,
    pub dependencies: usize,
}

/// What a dist run made.
#[derive(Debug, Clone)]
pub struct Dist {
    pub commit: String,
    pub epoch: u64,
    pub rustc: String,
    pub artifacts: Vec<Artifact>,
    /// The stick image, when asked for: its path and SHA-256.
    pub stick: Option<(PathBuf, String)>,
    pub sums: PathBuf,
    /// The signature and the public key it verifies with.
    pub signature: Option<(PathBuf, String)>,
}

fn progress(msg: impl std::fmt::Display) {
    eprintln!("dist: {msg}");
}

/// CPU seconds (user + system) of this process's finished children, from `/proc/self/stat`
/// (`cutime`, `cstime`; USER_HZ is 100 on x86_64 Linux): what a build costs on a machine with
/// nothing else running, whatever else shares this one.
pub fn children_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split(' ').collect();
    // cutime and cstime are fields 16 and 17 of the whole line, 14 and 15 after the name.
    let ticks: u64 = fields.get(13)?.parse::<u64>().ok()? + fields.get(14)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

#[derive(serde::Deserialize)]
struct Metadata {
    packages: Vec<MetaPackage>,
    target_directory: PathBuf,
}

#[derive(serde::Deserialize)]
struct MetaPackage {
    name: String,
    version: String,
}

fn metadata(root: &Path) -> anyhow::Result<Metadata> {
    let text = cmd::output(std::process::Command::new("cargo").current_dir(root).args([
        "metadata",
        "--no-deps",
        "--locked",
        "--format-version",
        "1",
    ]))?;
    serde_json::from_str(&text).context("reading `cargo metadata`")
}

/// The installed cargo-auditable's version, from `cargo install --list`.
pub fn auditable_version() -> anyhow::Result<String> {
    let list = cmd::output(std::process::Command::new("cargo").args(["install", "--list"]))?;
    let version = list
        .lines()
        .find_map(|l| l.strip_prefix("cargo-auditable v"))
        .map(|v| v.trim_end_matches(':').to_owned());
    match version {
        Some(v) if v == AUDITABLE_VERSION => Ok(v),
        Some(v) => bail!(
            "cargo-auditable {v} is installed; releases are built with {AUDITABLE_VERSION}: cargo install cargo-auditable --locked --version {AUDITABLE_VERSION}"
        ),
        None => bail!(
            "cargo-auditable is not installed: cargo install cargo-auditable --locked --version {AUDITABLE_VERSION}"
        ),
    }
}

/// Build, check and write every artifact of `opts`.
pub fn run(opts: &Options) -> anyhow::Result<Dist> {
    let started = Instant::now();
    let checkout = Checkout::open(&opts.root)?;
    if opts.allow_dirty {
        if !checkout.changes.is_empty() {
            progress(format!(
                "WARNING: {} local changes are built in but not recorded: this build cannot be reproduced",
                checkout.changes.len()
            ));
        }
    } else {
        checkout.require_clean()?;
    }
    let auditable = auditable_version()?;
    let meta = metadata(&checkout.root)?;
    let target_dir = match &opts.target_dir {
        Some(dir) => dir.clone(),
        None => meta.target_directory.join("dist"),
    };
    std::fs::create_dir_all(&target_dir)
        .with_context(|| format!("creating {}", target_dir.display()))?;
    let cargo_home = match &opts.cargo_home {
        Some(home) => home.clone(),
        None => crate::env::cargo_home()?,
    };
    let toolchain = Toolchain::detect(opts.toolchain_bin.as_deref())?;
    let env = BuildEnv::new(&checkout, &target_dir, &cargo_home, toolchain, &auditable)?;
    progress(format!(
        "commit {} (SOURCE_DATE_EPOCH={}), {}, cargo-auditable {auditable}",
        checkout.commit,
        checkout.epoch,
        env.toolchain.version_line()
    ));
    progress(format!(
        "checkout {}, target dir {}",
        checkout.root.display(),
        target_dir.display()
    ));
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("creating {}", opts.out.display()))?;

    let mut artifacts = Vec::new();
    let total = opts.binaries.len();
    for (i, &binary) in opts.binaries.iter().enumerate() {
        let version = meta
            .packages
            .iter()
            .find(|p| p.name == binary.name())
            .map(|p| p.version.clone())
            .with_context(|| format!("no package {} in the workspace", binary.name()))?;
        let linkage = if binary.static_crt() {
            "static"
        } else {
            "dynamic"
        };
        progress(format!(
            "[{}/{total}] building {} {version} ({linkage}, {TARGET})",
            i + 1,
            binary.name()
        ));
        let t = Instant::now();
        let cpu_before = children_cpu_secs();
        cmd::run(
            env.cargo(&checkout.root, binary.static_crt())
                .envs(opts.extra_env.iter().map(|(k, v)| (k, v)))
                .args([
                    "auditable",
                    "build",
                    "--release",
                    "--locked",
                    "--target",
                    TARGET,
                ])
                .args(["--package", binary.name(), "--bin", binary.name()])
                .args(binary.feature_args()),
        )?;
        let build_secs = t.elapsed().as_secs_f64();
        let cpu_secs = children_cpu_secs()
            .zip(cpu_before)
            .map(|(after, before)| after - before);
        let built = env
            .target_dir_for(binary.static_crt())
            .join(TARGET)
            .join("release")
            .join(binary.name());
        let file_name = binary.file_name(&version);
        let path = opts.out.join(&file_name);
        std::fs::copy(&built, &path)
            .with_context(|| format!("copying {} to {}", built.display(), path.display()))?;
        let mut artifact = check(binary, &checkout.commit, file_name, path, build_secs)?;
        artifact.version = version;
        artifact.cpu_secs = cpu_secs;
        progress(format!(
            "[{}/{total}] {} in {build_secs:.0} s{}: {} bytes, {} packages listed inside, {}",
            i + 1,
            artifact.file_name,
            cpu_secs.map_or(String::new(), |c| format!(" ({c:.0} s CPU)")),
            artifact.size,
            artifact.dependencies,
            artifact.file_description
        ));
        artifacts.push(artifact);
    }
    let stick_image = match &opts.stick {
        None => None,
        Some(stick) => Some(build_stick(opts, &env, &checkout, &artifacts, stick)?),
    };

    let mut names: Vec<String> = artifacts.iter().map(|a| a.file_name.clone()).collect();
    names.extend(
        stick_image
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned()),
    );
    let sums_path = sums::write(&opts.out, &names)?;
    for a in &mut artifacts {
        a.sha256 = sums::sha256_file(&a.path)?;
    }
    let stick = match stick_image {
        None => None,
        Some(path) => {
            let sha = sums::sha256_file(&path)?;
            Some((path, sha))
        }
    };
    progress(format!("wrote {}", sums_path.display()));

    let signature = match &opts.sign {
        None => None,
        Some(key) => {
            let versions: Vec<String> = artifacts
                .iter()
                .map(|a| format!("{} {}", a.binary.name(), a.version))
                .collect();
            let comment = format!(
                "HCL Probe release: {}, commit {}",
                versions.join(", "),
                checkout.commit
            );
            let sig = sign::sign(&sums_path, key, &comment)?;
            let public = sign::public_key_of(key)?;
            sign::verify(&sums_path, &public)
                .context("the new signature does not verify with the key's public key")?;
            progress(format!(
                "signed: {} (verify: minisign -Vm SHA256SUMS -P {public})",
                sig.display()
            ));
            Some((sig, public))
        }
    };
    progress(format!(
        "done in {:.0} s: {}",
        started.elapsed().as_secs_f64(),
        opts.out.display()
    ));
    Ok(Dist {
        commit: checkout.commit,
        epoch: checkout.epoch,
        rustc: env.toolchain.version_line().to_owned(),
        artifacts,
        stick,
        sums: sums_path,
        signature,
    })
}

/// Build the stick builder (the probe with its default features, not shipped) in the same
/// environment and let it write the image, with the released probe as /init and the commit's
/// time as its `--source-date-epoch` (file dates and GUIDs), so the image is reproducible too.
fn build_stick(
    opts: &Options,
    env: &BuildEnv,
    checkout: &Checkout,
    artifacts: &[Artifact],
    stick: &Stick,
) -> anyhow::Result<PathBuf> {
    let probe = artifacts
        .iter()
        .find(|a| a.binary == Binary::Probe)
        .context("a stick image needs the probe: add --binary hcl-probe")?;
    if stick.kernels.is_empty() {
        bail!("a stick image needs at least one --stick-kernel");
    }
    progress("stick: building the stick builder (hcl-probe with its default features)");
    cmd::run(
        env.cargo(&checkout.root, false)
            .envs(opts.extra_env.iter().map(|(k, v)| (k, v)))
            .args(["build", "--release", "--locked", "--target", TARGET])
            .args(["--package", "hcl-probe", "--bin", "hcl-probe"]),
    )?;
    let builder = env
        .target_dir_for(false)
        .join(TARGET)
        .join("release")
        .join("hcl-probe");
    let image = opts.out.join(Stick::file_name(&probe.version));
    let mut c = std::process::Command::new(&builder);
    c.arg("stick")
        .arg("build")
        .arg("--source-date-epoch")
        .arg(env.epoch.to_string())
        .arg("--out")
        .arg(&image)
        .arg("--init")
        .arg(&probe.path);
    for k in &stick.kernels {
        c.arg("--kernel").arg(k);
    }
    for f in &stick.firmware {
        c.arg("--firmware").arg(f);
    }
    if let Some(l) = &stick.loader {
        c.arg("--loader").arg(l);
    }
    progress(format!("stick: writing {}", image.display()));
    let t = Instant::now();
    cmd::run(&mut c)?;
    progress(format!(
        "stick: {} in {:.0} s",
        image.display(),
        t.elapsed().as_secs_f64()
    ));
    Ok(image)
}

/// Make the copied binary executable and check what it says about itself.
fn check(
    binary: Binary,
    commit: &str,
    file_name: String,
    path: PathBuf,
    build_secs: f64,
) -> anyhow::Result<Artifact> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("chmod {}", path.display()))?;
    let version = inspect::version_text(&path)?;
    if !version.contains(&format!("commit:       {commit} (release build")) {
        bail!(
            "{} --version does not name commit {commit}:\n{version}",
            path.display()
        );
    }
    let description = inspect::file_description(&path)?;
    if binary.static_crt() && !inspect::is_static(&description) {
        bail!("{} is not static: {description}", path.display());
    }
    let deps = inspect::embedded_dependencies(&path)?;
    if !deps.iter().any(|(name, _)| name == binary.name()) {
        bail!(
            "the dependency list embedded in {} does not name {}",
            path.display(),
            binary.name()
        );
    }
    let size = std::fs::metadata(&path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    Ok(Artifact {
        binary,
        version: String::new(),
        file_name,
        path,
        size,
        sha256: String::new(),
        build_secs,
        cpu_secs: None,
        file_description: description,
        dependencies: deps.len(),
    })
}
