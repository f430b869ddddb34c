//! What the import and the export of Qubes HCL files share: the status fields and how free
//! text becomes one line.

/// The yes/no/partial fields, in file order.
pub(super) const STATUS_FIELDS: [&str; 5] = ["hvm", "iommu", "slat", "tpm", "remap"];

/// Free text as one line: runs of white space become one space.
pub(super) fn one_line(t: &str) -> String {
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}
