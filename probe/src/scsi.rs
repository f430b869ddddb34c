//! SCSI devices (SATA and SAS disks, optical drives, USB storage) named by their vendor, model
//! and firmware revision, as `/proc/scsi/scsi` shows them and the Qubes HCL's `scsi:` lists
//! them. Read from sysfs: Debian kernels have no /proc/scsi/scsi (CONFIG_SCSI_PROC_FS off).
//! No serial number is read (that takes an INQUIRY VPD page, not a sysfs attribute).

use crate::root::Root;
use crate::sysfs::Found;

pub fn name(root: &Root, found: &mut [Found]) {
    for f in found.iter_mut().filter(|f| f.device.bus == "scsi") {
        let Some(rel) = f.device.sysfs_path.clone() else {
            continue;
        };
        let rel = rel.trim_start_matches('/');
        let attr = |name: &str| {
            root.read_attr(&format!("{rel}/{name}"))
                .filter(|v| !v.is_empty() && !v.contains('\\'))
        };
        let d = &mut f.device;
        d.vendor_name = attr("vendor");
        d.device_name = attr("model");
        d.revision = attr("rev");
    }
}
