//! The kernel log as the init reads it (`/dev/kmsg`), reduced to parsed fields: which firmware
//! file failed to load for which device, which driver's probe failed with which error. Log
//! lines themselves are never kept: they carry MAC addresses and serial numbers.

use std::io::Read;

/// One thing the log says about a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `Direct firmware load for FILE failed with error N`, `firmware: failed to load FILE (N)`.
    FirmwareFailed {
        device: Option<String>,
        file: String,
    },
    /// `probe with driver DRV failed with error N` or `DRV: probe of DEV failed with error N`.
    ProbeFailed {
        device: Option<String>,
        driver: String,
        errno: i32,
    },
}

/// Parses one `/dev/kmsg` record: `PRIO,SEQ,TS,FLAGS;MESSAGE` then ` KEY=VALUE` lines, of which
/// `DEVICE=+SUBSYSTEM:NAME` names the device (dev_printk). Records that say none of the above
/// give None.
pub fn parse_record(record: &str) -> Option<Event> {
    let mut lines = record.lines();
    let first = lines.next()?;
    let message = first.split_once(';').map_or(first, |(_, m)| m);
    let dict_device = lines
        .filter_map(|l| l.strip_prefix(' '))
        .find_map(|kv| kv.strip_prefix("DEVICE=+"))
        .and_then(|d| d.split_once(':'))
        .map(|(_, name)| name.to_owned());
    parse_message(message, dict_device)
}

fn errno(text: &str) -> Option<i32> {
    text.trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .parse()
        .ok()
}

/// A firmware file name as the kernel prints it: a path without spaces.
fn file_name(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && !s.contains(char::is_whitespace) && s.len() <= 256).then(|| s.to_owned())
}

/// `DRIVER DEVICE: rest` as dev_printk writes it: the device (second word).
fn prefix_device(message: &str) -> Option<String> {
    let (head, _) = message.split_once(": ")?;
    let mut words = head.split(' ');
    let _driver = words.next()?;
    let device = words.next()?;
    (words.next().is_none() && !device.is_empty()).then(|| device.to_owned())
}

fn parse_message(message: &str, dict_device: Option<String>) -> Option<Event> {
    let device = || dict_device.clone().or_else(|| prefix_device(message));
    if let Some((_, rest)) = message.split_once("Direct firmware load for ") {
        let (file, _) = rest.split_once(" failed with error ")?;
        return Some(Event::FirmwareFailed {
            device: device(),
            file: file_name(file)?,
        });
    }
    if let Some((_, rest)) = message.split_once("firmware: failed to load ") {
        let file = rest.rsplit_once(" (").map_or(rest, |(f, _)| f);
        return Some(Event::FirmwareFailed {
            device: device(),
            file: file_name(file)?,
        });
    }
    if let Some((_, rest)) = message.split_once("probe with driver ") {
        let (driver, n) = rest.split_once(" failed with error ")?;
        return Some(Event::ProbeFailed {
            device: device(),
            driver: driver.trim().to_owned(),
            errno: errno(n)?,
        });
    }
    if let Some((head, rest)) = message.split_once(": probe of ") {
        let (dev, n) = rest.split_once(" failed with error ")?;
        return Some(Event::ProbeFailed {
            device: dict_device.or_else(|| Some(dev.trim().to_owned())),
            driver: head.rsplit(' ').next()?.trim().to_owned(),
            errno: errno(n)?,
        });
    }
    None
}

/// Every event in the kernel's log buffer so far. `/dev/kmsg` gives one record per read, from
/// the oldest kept; a record overwritten before it was read gives `EPIPE` and reading goes on.
pub fn read_events() -> std::io::Result<Vec<Event>> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")?;
    let mut events = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let text = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
                events.extend(parse_record(&text));
            }
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Records in the form the kernel writes them (6.1: dev_printk with its dictionary).
    #[test]
    fn firmware_failures() {
        let r = "4,1203,5203112,-;i915 0000:00:02.0: Direct firmware load for i915/kbl_dmc_ver1_04.bin failed with error -2\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:02.0\n";
        assert_eq!(
            parse_record(r),
            Some(Event::FirmwareFailed {
                device: Some("0000:00:02.0".into()),
                file: "i915/kbl_dmc_ver1_04.bin".into()
            })
        );
        let r = "4,88,1000,-;iwlwifi 0000:3a:00.0: firmware: failed to load iwlwifi-cc-a0-77.ucode (-2)";
        assert_eq!(
            parse_record(r),
            Some(Event::FirmwareFailed {
                device: Some("0000:3a:00.0".into()),
                file: "iwlwifi-cc-a0-77.ucode".into()
            })
        );
    }

    #[test]
    fn probe_failures_old_and_new_forms() {
        let new = "4,300,2000,-;ahci 0000:00:1f.2: probe with driver ahci failed with error -12\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:1f.2\n";
        assert_eq!(
            parse_record(new),
            Some(Event::ProbeFailed {
                device: Some("0000:00:1f.2".into()),
                driver: "ahci".into(),
                errno: -12
            })
        );
        let old = "4,301,2001,-;snd_hda_intel: probe of 0000:00:1b.0 failed with error -16";
        assert_eq!(
            parse_record(old),
            Some(Event::ProbeFailed {
                device: Some("0000:00:1b.0".into()),
                driver: "snd_hda_intel".into(),
                errno: -16
            })
        );
    }

    #[test]
    fn other_lines_and_identifiers_are_not_kept() {
        for r in [
            "6,400,3000,-;e1000e 0000:00:02.0 eth0: (PCI Express:2.5GT/s:Width x1) 52:54:00:12:34:56",
            "6,401,3001,-;usb 1-1: SerialNumber: 1-0000:00:01.0-1",
            "garbage",
            "",
            "4,1,1,-;x: Direct firmware load for  failed with error -2",
        ] {
            assert_eq!(parse_record(r), None, "{r}");
        }
    }
}
