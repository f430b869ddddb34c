//! What a build of the HCL Probe binaries is made from: the commit and the toolchain, recorded
//! by this crate's build script, and the `--version` text every binary prints with them.
//!
//! `-V` prints one line (`hcl-probe 0.1.0 (commit 0123456789ab)`); `--version` adds the full
//! commit, where it came from, the toolchain and target, and whatever the binary embeds (kernel
//! profiles, id databases), so a person can see what is inside a downloaded binary and which
//! commit to rebuild it from.

use clap::Parser;

/// The full commit id this build was made from, or `unknown`.
pub const COMMIT: &str = env!("HCL_COMMIT");
/// Where [`COMMIT`] came from: a release build (`cargo xtask dist`), the checkout's git HEAD, or
/// nowhere.
pub const COMMIT_SOURCE: &str = env!("HCL_COMMIT_SOURCE");
/// `rustc -V` of the compiler that built this crate.
pub const RUSTC: &str = env!("HCL_RUSTC");
/// Target triple and linkage (`x86_64-unknown-linux-gnu, static`).
pub const TARGET: &str = env!("HCL_TARGET");
/// The cargo-auditable version that embedded the dependency list; empty when none did.
pub const AUDITABLE: &str = env!("HCL_AUDITABLE");

/// `0.1.0 (commit 0123456789ab)`: the version `-V` prints, with the short commit.
pub fn short_version(pkg_version: &str) -> String {
    let short = COMMIT.get(..12).unwrap_or(COMMIT);
    format!("{pkg_version} (commit {short})")
}

/// What `--version` prints after the program name: version, commit, toolchain, dependency
/// list, then `contents` (what the binary embeds), one fact a line.
pub fn long_version(pkg_version: &str, contents: &str) -> String {
    let deps = if AUDITABLE.is_empty() {
        "not embedded (built without cargo auditable)".to_owned()
    } else {
        format!(
            "embedded by cargo-auditable {AUDITABLE} (read it with `cargo audit bin`, syft or trivy)"
        )
    };
    let mut text = format!(
        "{pkg_version}\ncommit:       {COMMIT} ({COMMIT_SOURCE})\nbuilt with:   {RUSTC} for {TARGET}\ndependencies: {deps}\n"
    );
    text.push_str(contents);
    text.trim_end().to_owned()
}

/// Parse the command line of `C` with the version texts above; `contents` is called only when
/// `--version` is asked for (it may decode embedded data).
pub fn parse<C: Parser>(pkg_version: &str, contents: impl FnOnce() -> String) -> C {
    let mut cmd = C::command().version(short_version(pkg_version));
    if std::env::args_os().any(|a| a == "--version") {
        cmd = cmd.long_version(long_version(pkg_version, &contents()));
    }
    let matches = cmd.get_matches();
    C::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_is_a_full_id_or_unknown() {
        assert!(
            COMMIT == "unknown"
                || (matches!(COMMIT.len(), 40 | 64)
                    && COMMIT.bytes().all(|b| b.is_ascii_hexdigit())),
            "{COMMIT}"
        );
        assert!(RUSTC.starts_with("rustc "), "{RUSTC}");
    }

    #[test]
    fn long_version_names_commit_toolchain_and_contents() {
        let text = long_version("9.9.9", "kernel profiles: none\n");
        assert!(text.starts_with("9.9.9\ncommit:       "), "{text}");
        assert!(text.contains(COMMIT) && text.contains(RUSTC), "{text}");
        assert!(text.ends_with("kernel profiles: none"), "{text}");
        assert!(short_version("9.9.9").starts_with("9.9.9 (commit "));
    }
}
