//! `.modinfo` contents: NUL-terminated `key=value` strings, and `modules.builtin.modinfo`, the
//! same with every key prefixed by `module.`.

use std::collections::BTreeMap;

/// What one module's `.modinfo` says that the profiles need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Modinfo {
    pub name: Option<String>,
    pub aliases: Vec<String>,
    pub firmware: Vec<String>,
    pub vermagic: Option<String>,
    /// `depends=`: modules that must be loaded first, kmod's spelling.
    pub depends: Vec<String>,
    /// `softdep=` `pre:` modules: loaded first when they exist (modprobe does the same).
    pub softdep_pre: Vec<String>,
}

impl Modinfo {
    fn add(&mut self, key: &str, value: &str) {
        match key {
            "name" => self.name = Some(value.to_owned()),
            "alias" => self.aliases.push(value.to_owned()),
            "firmware" => self.firmware.push(value.to_owned()),
            "vermagic" => self.vermagic = Some(value.to_owned()),
            "depends" => self.depends.extend(
                value
                    .split(',')
                    .filter(|d| !d.is_empty())
                    .map(normalize_name),
            ),
            "softdep" => {
                // `pre: a b post: c`: the names after `pre:` up to the next `post:`.
                let mut pre = false;
                for word in value.split_whitespace() {
                    match word {
                        "pre:" => pre = true,
                        "post:" => pre = false,
                        m if pre => self.softdep_pre.push(normalize_name(m)),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

/// The `key=value` strings of a section; padding NULs, strings without `=` and strings with a
/// control character are skipped.
fn entries(section: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    section
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        // No real name, alias or firmware path holds one, and a tab or line end in a value
        // would split a record of the profile's text form (a fuzzed `name=` did).
        .filter(|s| !s.iter().any(|b| b.is_ascii_control()))
        .filter_map(|s| {
            // Values are ASCII in practice; a stray byte must not lose the whole module.
            let text = String::from_utf8_lossy(s);
            let (k, v) = text.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
}

/// Parses a module's `.modinfo` section.
pub fn parse(section: &[u8]) -> Modinfo {
    let mut info = Modinfo::default();
    for (k, v) in entries(section) {
        info.add(&k, &v);
    }
    info
}

/// Parses `modules.builtin.modinfo`: module name to its info, in name order.
pub fn parse_builtin(data: &[u8]) -> BTreeMap<String, Modinfo> {
    let mut out: BTreeMap<String, Modinfo> = BTreeMap::new();
    for (k, v) in entries(data) {
        if let Some((module, key)) = k.split_once('.')
            && !module.is_empty()
        {
            out.entry(module.to_owned()).or_default().add(key, &v);
        }
    }
    out
}

/// kmod's spelling of a module name: `-` becomes `_`.
pub fn normalize_name(name: &str) -> String {
    name.replace('-', "_")
}

/// A module's name from its file name: `snd-hda-intel.ko.xz` gives `snd_hda_intel`.
pub fn name_from_path(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split(".ko").next().unwrap_or(file);
    normalize_name(stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_and_padding() {
        let s = b"alias=pci:v00008086d*\0\0\0firmware=a.bin\0name=e1000e\0junk\0vermagic=6.1 SMP\0\
            depends=snd-pcm,snd\0softdep=pre: crc32c post: x\0";
        let m = parse(s);
        assert_eq!(m.depends, ["snd_pcm", "snd"]);
        assert_eq!(m.softdep_pre, ["crc32c"]);
        assert_eq!(m.name.as_deref(), Some("e1000e"));
        assert_eq!(m.aliases, ["pci:v00008086d*"]);
        assert_eq!(m.firmware, ["a.bin"]);
        assert_eq!(m.vermagic.as_deref(), Some("6.1 SMP"));
    }

    #[test]
    fn parses_builtin() {
        let s =
            b"virtio_pci.alias=pci:v00001AF4d*\0virtio_pci.license=GPL\0.alias=x\0printk.parm=y\0";
        let m = parse_builtin(s);
        assert_eq!(m["virtio_pci"].aliases, ["pci:v00001AF4d*"]);
        assert!(m.contains_key("printk"));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn names() {
        assert_eq!(
            name_from_path("kernel/sound/snd-hda-intel.ko.xz"),
            "snd_hda_intel"
        );
        assert_eq!(name_from_path("e1000e.ko"), "e1000e");
    }
}
