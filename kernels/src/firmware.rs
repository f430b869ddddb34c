//! Distro firmware lists beyond the profile format: Debian's per-suite file lists extracted from
//! the archive's Contents indices (`data/debian-contents/`, made by its `regenerate.sh`), and
//! which suites a Debian kernel takes its firmware from.

use std::path::Path;

use crate::error::Error;

/// The suites whose packages a Debian profile's firmware comes from
/// ([`crate::Shipped::firmware_suites`]); None for a kernel without any.
pub fn debian_firmware_suites(profile_id: &str) -> Option<&'static [&'static str]> {
    hcl_kernel_engine::SHIPPED
        .iter()
        .find(|s| s.id == profile_id)
        .map(|s| s.firmware_suites)
        .filter(|s| !s.is_empty())
}

/// `<dir>/<suite>.tsv.zst`: `path-under-lib/firmware<TAB>package` lines, as
/// `data/debian-contents/regenerate.sh` writes them.
pub fn read_contents_extract(dir: &Path, suite: &str) -> Result<Vec<(String, String)>, Error> {
    let path = dir.join(format!("{suite}.tsv.zst"));
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    // The extracts are well under a megabyte of text; more is a corrupt file.
    let text = zstd::bulk::decompress(&bytes, 64 << 20)
        .map_err(|e| Error::bad(path.display(), format!("not zstd data: {e}")))?;
    let text = String::from_utf8(text).map_err(|_| Error::bad(path.display(), "not UTF-8"))?;
    parse_contents_extract(&text, &path.display().to_string())
}

/// The text of an extract; `origin` names it in errors.
pub fn parse_contents_extract(text: &str, origin: &str) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        match line.split_once('\t') {
            Some((path, package))
                if !path.is_empty() && !package.is_empty() && !package.contains('\t') =>
            {
                out.push((path.to_owned(), package.to_owned()))
            }
            _ => {
                return Err(Error::bad(
                    format!("{origin}:{}", n + 1),
                    "expected `path<TAB>package`",
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extract_lines_need_a_path_and_a_package() {
        let ok = parse_contents_extract("a/b.bin\tpkg\n\nc d.txt\tother\n", "t").unwrap();
        assert_eq!(ok[1], ("c d.txt".to_owned(), "other".to_owned()));
        for bad in ["no-tab\n", "\tpkg\n", "path\t\n", "a\tb\tc\n"] {
            let e = parse_contents_extract(bad, "t").unwrap_err().to_string();
            assert!(e.starts_with("t:1:"), "{bad:?}: {e}");
        }
    }
}
