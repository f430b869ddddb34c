//! The ACPI tables the readiness facts need, from `sys/firmware/acpi/tables` (readable by
//! root only): the DMAR (renamed XMAR by Xen, which takes VT-d from dom0) for the interrupt
//! remapping opt-in and the RMRRs, the FADT for LOW_POWER_S0_IDLE_CAPABLE, the IVRS's presence.
//!
//! The tables carry platform ids (OEM id, table id), no per-machine identifier. A capture keeps
//! only what is read here: the DMAR header with its RMRR structures, and the FADT up to its
//! flags.

use crate::root::Root;

pub const TABLES: &str = "sys/firmware/acpi/tables";
/// ACPI table header (signature, length, revision, checksum, OEM ids, creator).
const ACPI_HEADER: usize = 36;
/// DMAR: header, host address width, flags, reserved.
const DMAR_HEADER: usize = 48;
/// FADT bytes up to and including the 32-bit flags at offset 112.
const FADT_FLAGS_END: usize = 116;
/// FADT flag: the platform's low-power S0 idle (S0ix) is as good as S3 or better.
const LOW_POWER_S0_IDLE_CAPABLE: u32 = 1 << 21;

/// One table as far as it could be read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Table<T> {
    /// The table listing is not readable: whether the table exists is not known.
    #[default]
    Unlisted,
    /// Not among the tables.
    Absent,
    /// Listed but not readable (not root).
    Unreadable,
    /// Not a table of this kind (a warning was given).
    Garbage(String),
    Read(T),
}

impl<T> Table<T> {
    pub fn read(&self) -> Option<&T> {
        match self {
            Table::Read(t) => Some(t),
            _ => None,
        }
    }

    /// Why the table gives no answer, for a reason sentence.
    pub fn why_not(&self, name: &str) -> String {
        match self {
            Table::Unlisted => "the ACPI tables are not readable".into(),
            Table::Absent => format!("there is no {name} table"),
            Table::Unreadable => format!("the {name} table could not be read (root only)"),
            Table::Garbage(why) => format!("the {name} table is not valid ({why})"),
            Table::Read(_) => String::new(),
        }
    }
}

/// The DMAR's facts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dmar {
    /// Flags bit 0: the platform supports interrupt remapping (the kernel's opt-in).
    pub intr_remap: bool,
    pub rmrrs: Vec<Rmrr>,
}

/// A Reserved Memory Region Reporting structure: memory the firmware keeps using for the
/// devices in its scope (USB legacy emulation, graphics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rmrr {
    pub segment: u16,
    pub base: u64,
    pub scopes: Vec<Scope>,
}

/// A device scope: a start bus and a path of (device, function) steps through bridges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub start_bus: u8,
    pub path: Vec<(u8, u8)>,
}

/// The FADT's facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fadt {
    pub low_power_s0: bool,
}

/// The tables, read once per scan.
#[derive(Debug, Clone, Default)]
pub struct Acpi {
    /// Table names; None when the listing is not readable.
    pub listed: Option<Vec<String>>,
    /// `DMAR`, or `XMAR` when Xen has taken VT-d.
    pub dmar_name: Option<String>,
    pub dmar: Table<Dmar>,
    pub ivrs: bool,
    pub fadt: Table<Fadt>,
}

impl Acpi {
    pub fn read(root: &Root) -> Acpi {
        let Some(names) = root.list_dir(TABLES) else {
            return Acpi::default();
        };
        // Recorded so that a capture without DMAR/IVRS still says "no IOMMU", not "unknown".
        root.exists(TABLES);
        let names: Vec<String> = names.into_iter().map(|(n, _)| n).collect();
        let has = |n: &str| names.iter().any(|x| x == n);
        let dmar_name = ["DMAR", "XMAR"].into_iter().find(|n| has(n));
        let mut acpi = Acpi {
            dmar_name: dmar_name.map(str::to_owned),
            ivrs: has("IVRS"),
            dmar: Table::Absent,
            fadt: Table::Absent,
            listed: None,
        };
        if acpi.ivrs {
            root.exists(&format!("{TABLES}/IVRS"));
        }
        if let Some(name) = dmar_name {
            acpi.dmar = read_table(root, name, parse_dmar, dmar_captured_form);
        }
        if has("FACP") {
            acpi.fadt = read_table(root, "FACP", parse_fadt, |b| {
                let mut kept = b.get(..FADT_FLAGS_END).unwrap_or(b).to_vec();
                set_length(&mut kept);
                kept
            });
        }
        acpi.listed = Some(names);
        acpi
    }
}

fn read_table<T>(
    root: &Root,
    name: &str,
    parse: fn(&[u8], &str) -> Result<T, String>,
    captured: fn(&[u8]) -> Vec<u8>,
) -> Table<T> {
    let rel = format!("{TABLES}/{name}");
    // Recorded first: a capture made without root still lists the table (empty).
    root.exists(&rel);
    let Some(bytes) = root.read_bytes(&rel) else {
        // Root has warned when it exists but cannot be read.
        return Table::Unreadable;
    };
    if bytes.is_empty() {
        // A capture's marker for a table that was not readable when it was made.
        return Table::Unreadable;
    }
    match parse(&bytes, name) {
        Ok(t) => {
            root.record_filtered(&rel, captured(&bytes));
            Table::Read(t)
        }
        Err(why) => {
            root.warn(&rel, format!("not a valid {name} table: {why}"));
            let header = bytes.get(..ACPI_HEADER).unwrap_or(&bytes).to_vec();
            root.record_filtered(&rel, header);
            Table::Garbage(why)
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The table's own length, checked against what was read.
fn table_len(b: &[u8], signature: &str, min: usize) -> Result<usize, String> {
    if b.get(..4) != Some(signature.as_bytes()) {
        return Err(format!(
            "its signature is {:?}",
            String::from_utf8_lossy(b.get(..4).unwrap_or(b))
        ));
    }
    let len = u32_at(b, 4).ok_or("shorter than an ACPI header")? as usize;
    if len < min {
        return Err(format!("{len} bytes long, less than the {min} it needs"));
    }
    if len > b.len() {
        return Err(format!("says {len} bytes but {} were read", b.len()));
    }
    Ok(len)
}

/// Writes the buffer's size into its header's length field.
fn set_length(b: &mut [u8]) {
    let len = u32::try_from(b.len()).unwrap_or(u32::MAX).to_le_bytes();
    if let Some(field) = b.get_mut(4..8) {
        field.copy_from_slice(&len);
    }
}

/// DMAR remapping structures: (type, offset, length), checked to fit.
fn structures(b: &[u8], len: usize) -> Result<Vec<(u16, usize, usize)>, String> {
    let mut out = Vec::new();
    let mut at = DMAR_HEADER;
    while at + 4 <= len {
        let kind = u16_at(b, at).ok_or("cut short")?;
        let slen = usize::from(u16_at(b, at + 2).ok_or("cut short")?);
        if slen < 4 || at + slen > len {
            return Err(format!("structure at {at} has length {slen}"));
        }
        out.push((kind, at, slen));
        at += slen;
    }
    Ok(out)
}

/// DMAR or XMAR.
pub fn parse_dmar(b: &[u8], name: &str) -> Result<Dmar, String> {
    let len = table_len(b, name, DMAR_HEADER)?;
    let flags = b.get(37).copied().unwrap_or(0);
    let mut dmar = Dmar {
        intr_remap: flags & 1 != 0,
        rmrrs: Vec::new(),
    };
    for (kind, at, slen) in structures(b, len)? {
        if kind != 1 {
            continue;
        }
        if slen < 24 {
            return Err(format!("RMRR at {at} is {slen} bytes, less than 24"));
        }
        let segment = u16_at(b, at + 6).ok_or("cut short")?;
        let base = u64_at(b, at + 8).ok_or("cut short")?;
        let mut scopes = Vec::new();
        let mut s = at + 24;
        while s + 6 <= at + slen {
            let sl = usize::from(b.get(s + 1).copied().unwrap_or(0));
            if sl < 6 || s + sl > at + slen || (sl - 6) % 2 != 0 {
                return Err(format!("device scope at {s} has length {sl}"));
            }
            let path = (s + 6..s + sl)
                .step_by(2)
                .map(|p| (b[p], b[p + 1]))
                .collect();
            scopes.push(Scope {
                start_bus: b[s + 5],
                path,
            });
            s += sl;
        }
        dmar.rmrrs.push(Rmrr {
            segment,
            base,
            scopes,
        });
    }
    Ok(dmar)
}

/// The DMAR as a capture keeps it: the header and the RMRR structures.
fn dmar_captured_form(b: &[u8]) -> Vec<u8> {
    let len = u32_at(b, 4).map_or(b.len(), |l| (l as usize).min(b.len()));
    let mut out = b.get(..DMAR_HEADER).unwrap_or(b).to_vec();
    for (kind, at, slen) in structures(b, len).unwrap_or_default() {
        if kind == 1 {
            out.extend_from_slice(&b[at..at + slen]);
        }
    }
    set_length(&mut out);
    out
}

pub fn parse_fadt(b: &[u8], name: &str) -> Result<Fadt, String> {
    table_len(b, name, FADT_FLAGS_END)?;
    let flags = u32_at(b, 112).ok_or("cut short")?;
    Ok(Fadt {
        low_power_s0: flags & LOW_POWER_S0_IDLE_CAPABLE != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(sig: &[u8; 4], len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        b[..4].copy_from_slice(sig);
        b[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        b[10..16].copy_from_slice(b"BOCHS ");
        b
    }

    /// A DMAR with a DRHD and one RMRR naming 00:14.0 and 00:1a.0.
    pub fn dmar() -> Vec<u8> {
        let mut b = header(b"DMAR", DMAR_HEADER);
        b[37] = 1;
        let mut drhd = vec![0u8; 16];
        drhd[2] = 16;
        b.extend_from_slice(&drhd);
        let mut rmrr = vec![0u8; 24];
        rmrr[0] = 1;
        rmrr[8..16].copy_from_slice(&0xdbe9_a000u64.to_le_bytes());
        for dev in [0x14, 0x1a] {
            rmrr.extend_from_slice(&[1, 8, 0, 0, 0, 0, dev, 0]);
        }
        let rl = rmrr.len() as u16;
        rmrr[2..4].copy_from_slice(&rl.to_le_bytes());
        b.extend_from_slice(&rmrr);
        set_length(&mut b);
        b
    }

    #[test]
    fn dmar_rmrr_and_flags() {
        let d = parse_dmar(&dmar(), "DMAR").unwrap();
        assert!(d.intr_remap);
        assert_eq!(d.rmrrs.len(), 1);
        assert_eq!(d.rmrrs[0].base, 0xdbe9_a000);
        assert_eq!(
            d.rmrrs[0].scopes,
            vec![
                Scope {
                    start_bus: 0,
                    path: vec![(0x14, 0)]
                },
                Scope {
                    start_bus: 0,
                    path: vec![(0x1a, 0)]
                }
            ]
        );
        let kept = dmar_captured_form(&dmar());
        assert_eq!(kept.len(), dmar().len() - 16, "the DRHD is dropped");
        assert_eq!(parse_dmar(&kept, "DMAR").unwrap(), d);
        // Xen's rename reads the same.
        let mut x = dmar();
        x[0] = b'X';
        assert_eq!(parse_dmar(&x, "XMAR").unwrap(), d);
    }

    #[test]
    fn bad_tables_are_refused() {
        assert!(parse_dmar(b"DMAR", "DMAR").is_err());
        let mut b = dmar();
        b[4] = 0xff; // longer than read
        assert!(parse_dmar(&b, "DMAR").is_err());
        let mut b = dmar();
        let at = DMAR_HEADER + 16 + 2;
        b[at] = 200; // RMRR length past the end
        assert!(parse_dmar(&b, "DMAR").is_err());
        assert!(parse_fadt(&header(b"FACP", 100), "FACP").is_err());
        assert!(parse_fadt(&header(b"APIC", 276), "FACP").is_err());
    }

    #[test]
    fn fadt_low_power_s0() {
        let mut f = header(b"FACP", 276);
        assert!(!parse_fadt(&f, "FACP").unwrap().low_power_s0);
        f[112 + 2] = 0x20; // bit 21
        assert!(parse_fadt(&f, "FACP").unwrap().low_power_s0);
    }
}
