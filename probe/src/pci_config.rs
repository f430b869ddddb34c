//! PCI configuration space (`sysfs .../config`): the capabilities that say which resets a
//! device has and whether it is PCI Express, read from the first 256 bytes only.
//!
//! Without root the kernel shows only the 64-byte header, where no capability lives: the
//! methods are then unknown, never guessed. Captures keep the header and only the
//! capabilities read here ([`captured_form`]): the extended space above 256 bytes (where the
//! Device Serial Number capability lives) is never kept, and neither are VPD or vendor-specific
//! capabilities, whose registers can hold pieces of a serial number.

/// Bytes of configuration space the probe looks at (the PCI 3.0 space; the PCIe extended space
/// starts above it).
pub const LOOKED_AT: usize = 256;
/// The standard header, readable without root.
const HEADER: usize = 64;

const CAP_PM: u8 = 0x01;
const CAP_PCIE: u8 = 0x10;
const CAP_AF: u8 = 0x13;
/// Bytes of each kept capability: PCIe v2 (0x3c), PM (8), Advanced Features (6).
const KEPT: [(u8, usize); 3] = [(CAP_PCIE, 0x3c), (CAP_PM, 8), (CAP_AF, 6)];

/// PCIe device/port type (PCIe capability flags, bits 7:4) of a PCI Express to PCI/PCI-X
/// bridge.
pub const PCIE_TO_PCI_BRIDGE: u8 = 0x7;

/// What the configuration space says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    /// Header type 1 or 2: a bridge, with devices of its own behind it.
    pub bridge: bool,
    /// The PCI Express capability: None for conventional PCI.
    pub pcie: Option<Pcie>,
    /// Power management: Some(true) when a D3hot-D0 transition resets the device (NoSoftRst
    /// clear), Some(false) when it does not, None without the capability.
    pub pm_reset: Option<bool>,
    /// Advanced Features capability with both Transactions Pending and FLR (what the kernel's
    /// `af` method needs).
    pub af_flr: bool,
}

/// The PCI Express capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pcie {
    /// Device/port type (0 endpoint, 4 root port, 6 downstream port, 7 PCIe-to-PCI bridge,
    /// 9 root complex integrated endpoint, ...).
    pub port_type: u8,
    /// Function Level Reset in the device capabilities.
    pub flr: bool,
}

/// Why the capabilities cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// Only the header (or less) was readable: normal without root.
    Short(usize),
    /// Bytes that are no configuration space (a warning).
    Garbage(String),
}

impl Unreadable {
    pub fn describe(&self) -> String {
        match self {
            Unreadable::Short(n) => format!(
                "only {n} bytes of its configuration space are readable (the capabilities need \
                 root)"
            ),
            Unreadable::Garbage(why) => format!("its configuration space is not valid: {why}"),
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// The capability list: (id, offset) in chain order.
fn chain(b: &[u8]) -> Result<Vec<(u8, usize)>, Unreadable> {
    let garbage = |why: String| Err(Unreadable::Garbage(why));
    let status = u16_at(b, 0x06).unwrap_or(0);
    if status & 0x10 == 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut ptr = usize::from(b.get(0x34).copied().unwrap_or(0) & 0xfc);
    while ptr != 0 {
        if ptr < HEADER {
            return garbage(format!(
                "a capability pointer ({ptr:#x}) points into the header"
            ));
        }
        if out.iter().any(|&(_, at)| at == ptr) || out.len() >= 48 {
            return garbage("the capability list loops".into());
        }
        let (Some(&id), Some(&next)) = (b.get(ptr), b.get(ptr + 1)) else {
            return Err(Unreadable::Short(b.len()));
        };
        out.push((id, ptr));
        ptr = usize::from(next & 0xfc);
    }
    Ok(out)
}

/// Reads the header and the capabilities that matter from the first bytes of `config`.
pub fn parse(config: &[u8]) -> Result<Caps, Unreadable> {
    let b = config.get(..LOOKED_AT).unwrap_or(config);
    if b.len() < HEADER {
        return Err(Unreadable::Short(b.len()));
    }
    if u16_at(b, 0).is_some_and(|v| v == 0xffff || v == 0) {
        return Err(Unreadable::Garbage(
            "the vendor id reads as 0000 or ffff".into(),
        ));
    }
    let header_type = b.get(0x0e).copied().unwrap_or(0) & 0x7f;
    if header_type > 2 {
        return Err(Unreadable::Garbage(format!(
            "header type {header_type} does not exist"
        )));
    }
    let mut caps = Caps {
        bridge: header_type != 0,
        ..Caps::default()
    };
    // Without root only the header is there: a capability list cannot be followed.
    if b.len() == HEADER && u16_at(b, 0x06).is_some_and(|s| s & 0x10 != 0) {
        return Err(Unreadable::Short(HEADER));
    }
    for (id, at) in chain(b)? {
        let short = || Unreadable::Short(b.len());
        match id {
            CAP_PCIE => {
                let flags = u16_at(b, at + 2).ok_or_else(short)?;
                let devcap = u32_at(b, at + 4).ok_or_else(short)?;
                caps.pcie = Some(Pcie {
                    port_type: ((flags >> 4) & 0xf) as u8,
                    flr: devcap & (1 << 28) != 0,
                });
            }
            CAP_PM => {
                let pmcsr = u16_at(b, at + 4).ok_or_else(short)?;
                caps.pm_reset = Some(pmcsr & (1 << 3) == 0);
            }
            CAP_AF => {
                let af = b.get(at + 3).copied().ok_or_else(short)?;
                caps.af_flr = af & 0x3 == 0x3;
            }
            _ => {}
        }
    }
    Ok(caps)
}

/// What a capture keeps of a configuration space: the header and only the PCIe, PM and AF
/// capabilities, relinked; every other byte zero. [`parse`] reads it exactly as the original.
/// A space that cannot be parsed keeps its header only.
pub fn captured_form(config: &[u8]) -> Vec<u8> {
    let b = config.get(..LOOKED_AT).unwrap_or(config);
    let Some(header) = b.get(..HEADER) else {
        return b.to_vec();
    };
    let all = match (parse(b), chain(b)) {
        (Ok(_), Ok(list)) => list,
        _ => return header.to_vec(),
    };
    let kept: Vec<(u8, usize)> = all
        .iter()
        .copied()
        .filter(|(id, _)| KEPT.iter().any(|(k, _)| k == id))
        .collect();
    let mut out = vec![0u8; b.len()];
    out[..HEADER].copy_from_slice(header);
    let first = kept.first().map_or(0, |&(_, at)| at);
    out[0x34] = u8::try_from(first).unwrap_or(0);
    for (i, &(id, at)) in kept.iter().enumerate() {
        let len = KEPT.iter().find(|(k, _)| *k == id).map_or(2, |(_, l)| *l);
        // Never past the start of another capability (an older, shorter PCIe capability
        // can have a neighbour inside 0x3c bytes).
        let next_start = all
            .iter()
            .map(|&(_, o)| o)
            .filter(|&o| o > at)
            .min()
            .unwrap_or(b.len());
        let end = (at + len).min(next_start).min(b.len());
        out[at..end].copy_from_slice(&b[at..end]);
        let next = kept.get(i + 1).map_or(0, |&(_, n)| n);
        out[at + 1] = u8::try_from(next).unwrap_or(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config space with the given capabilities chained in order from 0x40.
    fn space(caps: &[(u8, &[u8])]) -> Vec<u8> {
        let mut b = vec![0u8; LOOKED_AT];
        b[0..2].copy_from_slice(&0x8086u16.to_le_bytes());
        b[2..4].copy_from_slice(&0x1234u16.to_le_bytes());
        b[6] = 0x10;
        let mut at = 0x40;
        b[0x34] = at as u8;
        for (i, (id, body)) in caps.iter().enumerate() {
            b[at] = *id;
            b[at + 2..at + 2 + body.len()].copy_from_slice(body);
            let next = if i + 1 < caps.len() { at + 0x20 } else { 0 };
            b[at + 1] = next as u8;
            at += 0x20;
        }
        b
    }

    fn pcie(port_type: u8, flr: bool) -> Vec<u8> {
        let mut body = vec![0u8; 6];
        body[0] = port_type << 4;
        if flr {
            body[5] = 0x10; // DevCap bit 28
        }
        body
    }

    #[test]
    fn flr_pm_and_af_are_read() {
        let b = space(&[
            (CAP_PCIE, &pcie(0, true)),
            (CAP_PM, &[0x03, 0x00, 0x00, 0x00]),
            (CAP_AF, &[0x06, 0x03]),
        ]);
        let c = parse(&b).unwrap();
        assert_eq!(
            c.pcie,
            Some(Pcie {
                port_type: 0,
                flr: true
            })
        );
        assert_eq!(c.pm_reset, Some(true));
        assert!(c.af_flr);
        assert!(!c.bridge);
    }

    #[test]
    fn no_soft_reset_means_no_pm_reset() {
        let b = space(&[(CAP_PM, &[0x03, 0x00, 0x08, 0x00])]);
        let c = parse(&b).unwrap();
        assert_eq!(c.pm_reset, Some(false));
        assert_eq!(c.pcie, None, "conventional PCI");
    }

    #[test]
    fn header_only_is_short_not_a_guess() {
        let b = space(&[(CAP_PCIE, &pcie(0, true))]);
        assert_eq!(parse(&b[..64]), Err(Unreadable::Short(64)));
        assert_eq!(parse(&b[..10]), Err(Unreadable::Short(10)));
        // A header that has no capability list says everything with 64 bytes.
        let mut plain = b[..64].to_vec();
        plain[6] = 0;
        assert!(parse(&plain).is_ok());
    }

    #[test]
    fn garbage_is_named() {
        let mut b = space(&[(CAP_PM, &[0; 4])]);
        b[0x41] = 0x40; // points at itself
        assert!(matches!(parse(&b), Err(Unreadable::Garbage(_))));
        b[0x41] = 0x10; // into the header
        assert!(matches!(parse(&b), Err(Unreadable::Garbage(_))));
        assert!(matches!(parse(&[0xff; 256]), Err(Unreadable::Garbage(_))));
    }

    #[test]
    fn captured_form_keeps_only_what_is_read() {
        // MSI, then VPD with data in its register, PCIe, vendor-specific, PM.
        let mut b = space(&[
            (0x05, &[0x80, 0, 0xee, 0xee]),
            (0x03, &[0, 0x80, b'S', b'N', b'1', b'2']),
            (CAP_PCIE, &pcie(1, true)),
            (0x09, &[0x10, b'x', b'y']),
            (CAP_PM, &[0x03, 0x00, 0x08, 0x00]),
        ]);
        b.extend_from_slice(&[0xaa; 3840]);
        let kept = captured_form(&b);
        assert_eq!(kept.len(), LOOKED_AT);
        assert_eq!(parse(&kept), parse(&b));
        assert!(!kept.windows(2).any(|w| w == b"SN"), "VPD data kept");
        assert!(!kept.contains(&0xee) && !kept.contains(&0xaa));
        assert!(!kept.windows(2).any(|w| w == b"xy"));
        // Header only (no root) stays as it is.
        assert_eq!(captured_form(&b[..64]), b[..64].to_vec());
    }
}
