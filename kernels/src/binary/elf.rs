//! The `.modinfo` section of a kernel module: a relocatable ELF (64- or 32-bit, either byte
//! order). Hand-written and bounds-checked: every offset comes from the file and is untrusted.

/// Why a file's `.modinfo` section could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    #[error("not an ELF file (bad magic)")]
    NotElf,
    #[error("unsupported ELF class {0} or byte order {1}")]
    Unsupported(u8, u8),
    #[error("truncated ELF: {0} lies outside the file")]
    Truncated(&'static str),
    #[error("ELF has no .modinfo section: not a kernel module")]
    NoModinfo,
}

#[derive(Clone, Copy)]
struct Reader<'a> {
    data: &'a [u8],
    big_endian: bool,
    is64: bool,
}

impl<'a> Reader<'a> {
    fn bytes<const N: usize>(&self, at: u64, what: &'static str) -> Result<[u8; N], ElfError> {
        let start = usize::try_from(at).map_err(|_| ElfError::Truncated(what))?;
        let end = start.checked_add(N).ok_or(ElfError::Truncated(what))?;
        self.data
            .get(start..end)
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .ok_or(ElfError::Truncated(what))
    }

    fn u16(&self, at: u64, what: &'static str) -> Result<u16, ElfError> {
        let b = self.bytes::<2>(at, what)?;
        Ok(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32(&self, at: u64, what: &'static str) -> Result<u32, ElfError> {
        let b = self.bytes::<4>(at, what)?;
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn u64(&self, at: u64, what: &'static str) -> Result<u64, ElfError> {
        let b = self.bytes::<8>(at, what)?;
        Ok(if self.big_endian {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }

    /// A word: 8 bytes in ELF64, 4 in ELF32.
    fn word(&self, at: u64, what: &'static str) -> Result<u64, ElfError> {
        if self.is64 {
            self.u64(at, what)
        } else {
            self.u32(at, what).map(u64::from)
        }
    }

    fn slice(&self, offset: u64, size: u64, what: &'static str) -> Result<&'a [u8], ElfError> {
        let start = usize::try_from(offset).map_err(|_| ElfError::Truncated(what))?;
        let len = usize::try_from(size).map_err(|_| ElfError::Truncated(what))?;
        let end = start.checked_add(len).ok_or(ElfError::Truncated(what))?;
        self.data.get(start..end).ok_or(ElfError::Truncated(what))
    }
}

struct Section {
    name: u32,
    kind: u32,
    offset: u64,
    size: u64,
    link: u32,
}

const SHT_NOBITS: u32 = 8;
const SHN_XINDEX: u32 = 0xffff;

/// The bytes of the `.modinfo` section of an ELF kernel module.
pub fn modinfo_section(data: &[u8]) -> Result<&[u8], ElfError> {
    if data.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err(ElfError::NotElf);
    }
    let (class, order) = match data.get(4..6) {
        Some(&[c, o]) => (c, o),
        _ => return Err(ElfError::Truncated("ELF identification")),
    };
    let (is64, big_endian) = match (class, order) {
        (1, 1) => (false, false),
        (1, 2) => (false, true),
        (2, 1) => (true, false),
        (2, 2) => (true, true),
        (c, o) => return Err(ElfError::Unsupported(c, o)),
    };
    let r = Reader {
        data,
        big_endian,
        is64,
    };
    // File header fields: (e_shoff, e_shentsize, e_shnum, e_shstrndx) offsets per class.
    let (shoff_at, shentsize_at) = if is64 { (0x28, 0x3a) } else { (0x20, 0x2e) };
    let shoff = r.word(shoff_at, "section header offset")?;
    let shentsize = u64::from(r.u16(shentsize_at, "section header size")?);
    let mut shnum = u64::from(r.u16(shentsize_at + 2, "section count")?);
    let mut shstrndx = u32::from(r.u16(shentsize_at + 4, "section name table index")?);
    let min_entsize = if is64 { 64 } else { 40 };
    if shoff == 0 {
        return Err(ElfError::NoModinfo);
    }
    if shentsize < min_entsize {
        return Err(ElfError::Truncated("section header entry"));
    }
    let section = |index: u64| -> Result<Section, ElfError> {
        let at = index
            .checked_mul(shentsize)
            .and_then(|o| o.checked_add(shoff))
            .ok_or(ElfError::Truncated("section header"))?;
        let what = "section header";
        // The whole entry lies in the file, so the field offsets below cannot overflow.
        r.slice(at, min_entsize, what)?;
        Ok(if is64 {
            Section {
                name: r.u32(at, what)?,
                kind: r.u32(at + 4, what)?,
                offset: r.u64(at + 24, what)?,
                size: r.u64(at + 32, what)?,
                link: r.u32(at + 40, what)?,
            }
        } else {
            Section {
                name: r.u32(at, what)?,
                kind: r.u32(at + 4, what)?,
                offset: u64::from(r.u32(at + 16, what)?),
                size: u64::from(r.u32(at + 20, what)?),
                link: r.u32(at + 24, what)?,
            }
        })
    };
    // More than 0xff00 sections: the real count and name table index live in section 0.
    if shnum == 0 || shstrndx == SHN_XINDEX {
        let first = section(0)?;
        if shnum == 0 {
            shnum = first.size;
        }
        if shstrndx == SHN_XINDEX {
            shstrndx = first.link;
        }
    }
    // Every header must lie inside the file: this also bounds the loop below.
    let table_len = shnum
        .checked_mul(shentsize)
        .ok_or(ElfError::Truncated("section header table"))?;
    r.slice(shoff, table_len, "section header table")?;
    if u64::from(shstrndx) >= shnum {
        return Err(ElfError::Truncated("section name table"));
    }
    let strtab = section(u64::from(shstrndx))?;
    let names = r.slice(strtab.offset, strtab.size, "section name table")?;
    for index in 0..shnum {
        let s = section(index)?;
        let name = usize::try_from(s.name)
            .ok()
            .and_then(|start| names.get(start..))
            .map(|rest| rest.split(|&b| b == 0).next().unwrap_or_default());
        if name == Some(b".modinfo".as_slice()) {
            if s.kind == SHT_NOBITS {
                return Ok(&[]);
            }
            return r.slice(s.offset, s.size, ".modinfo section");
        }
    }
    Err(ElfError::NoModinfo)
}
