//! The `.modinfo` section of a kernel module: a relocatable ELF (64- or 32-bit, either byte
//! order), read with `object`'s bounds-checked ELF reader (every offset in the file is
//! untrusted).

use object::Endianness;
use object::elf::{FileHeader32, FileHeader64};
use object::read::elf::{FileHeader, SectionHeader};

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

/// The bytes of the `.modinfo` section of an ELF kernel module.
pub fn modinfo_section(data: &[u8]) -> Result<&[u8], ElfError> {
    if data.get(..4) != Some(b"\x7fELF".as_slice()) {
        return Err(ElfError::NotElf);
    }
    match data.get(4..6) {
        Some(&[1, 1 | 2]) => modinfo::<FileHeader32<Endianness>>(data),
        Some(&[2, 1 | 2]) => modinfo::<FileHeader64<Endianness>>(data),
        Some(&[class, order]) => Err(ElfError::Unsupported(class, order)),
        _ => Err(ElfError::Truncated("ELF identification")),
    }
}

fn modinfo<H: FileHeader<Endian = Endianness>>(data: &[u8]) -> Result<&[u8], ElfError> {
    let header = H::parse(data).map_err(|_| ElfError::Truncated("ELF header"))?;
    let endian = header
        .endian()
        .map_err(|_| ElfError::Truncated("ELF identification"))?;
    // Also follows the count and name table index to section 0 past 0xff00 sections.
    let sections = header
        .sections(endian, data)
        .map_err(|_| ElfError::Truncated("section header table"))?;
    let (_, section) = sections
        .section_by_name(endian, b".modinfo")
        .ok_or(ElfError::NoModinfo)?;
    // A SHT_NOBITS section reads as empty.
    section
        .data(endian, data)
        .map_err(|_| ElfError::Truncated(".modinfo section"))
}
