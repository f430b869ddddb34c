//! Suspend readiness: what `/sys/power/state` and `/sys/power/mem_sleep` offer, and the
//! FADT's LOW_POWER_S0_IDLE_CAPABLE flag when the table is readable (root). Qubes suspends
//! with S3 ("deep"); with s2idle alone it often fails.

use hcl_data::{Suspend, Tri};

use crate::acpi::{Acpi, Table};
use crate::root::Root;

/// Reads the suspend facts; files that are missing leave them unknown, garbage is a warning.
pub fn read(root: &Root, acpi: &Acpi) -> Suspend {
    let state = words(root, "sys/power/state");
    let mem_sleep = words(root, "sys/power/mem_sleep");
    let low_power_s0 = match &acpi.fadt {
        Table::Read(f) => {
            if f.low_power_s0 {
                Tri::Yes
            } else {
                Tri::No
            }
        }
        _ => Tri::Unknown,
    };
    Suspend::from_sysfs(state.as_deref(), mem_sleep.as_deref(), low_power_s0)
}

/// A file of sleep state names (`s2idle [deep]`); None when missing or not such a list.
fn words(root: &Root, rel: &str) -> Option<String> {
    let text = root.read_attr(rel)?;
    let ok = !text.is_empty()
        && text.split_whitespace().all(|w| {
            let name = w.trim_start_matches('[').trim_end_matches(']');
            !name.is_empty()
                && name.len() <= 32
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
    if !ok {
        root.warn(rel, "not a list of sleep states; ignored");
        return None;
    }
    Some(text)
}
