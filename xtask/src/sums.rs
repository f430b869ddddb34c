//! `SHA256SUMS` in the format of coreutils' `sha256sum`, so `sha256sum -c SHA256SUMS` checks a
//! download with no tool of ours.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

/// The name of the sums file in a dist folder.
pub const FILE_NAME: &str = "SHA256SUMS";

/// Lowercase hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The text of a sums file for `names` (files in `dir`), sorted by name: `HASH  NAME` lines.
pub fn render(dir: &Path, names: &[String]) -> anyhow::Result<String> {
    let mut names = names.to_vec();
    names.sort();
    names.dedup();
    let mut text = String::new();
    for name in names {
        // sha256sum escapes such names with a backslash prefix; ours never need it.
        if name.contains(['\n', '\\', '/']) || name.is_empty() {
            bail!("{name:?} cannot be listed in {FILE_NAME}");
        }
        let hash = sha256_file(&dir.join(&name))?;
        text.push_str(&format!("{hash}  {name}\n"));
    }
    Ok(text)
}

/// Write `dir/SHA256SUMS` for `names`.
pub fn write(dir: &Path, names: &[String]) -> anyhow::Result<PathBuf> {
    let text = render(dir, names)?;
    let path = dir.join(FILE_NAME);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// (hash, name) pairs of a sums file.
pub fn parse(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (hash, name) = line
                .split_once("  ")
                .with_context(|| format!("not a sha256sum line: {line:?}"))?;
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!("not a SHA-256 in {line:?}");
            }
            Ok((hash.to_owned(), name.to_owned()))
        })
        .collect()
}
