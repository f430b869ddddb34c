//! `qubes_hcl`: one Qubes HCL YAML file as `hcl-aggregator import-qubes-hcl` reads it
//! ([`hcl_aggregator::import::load_one`]). What imports is a valid report whose stored form
//! reads back as itself, and which exports ([`qubes_hcl::to_yaml`]) to a file that imports
//! with the same facts.

use hcl_data::{Report, qubes_hcl};

/// A name as the HCL's files have them: the report id and the day come from it.
const NAME: &str = "Fuzz-Vendor-Model-20230728.yml";

pub fn qubes_hcl(data: &[u8]) {
    let Ok(report) = hcl_aggregator::import::load_one(&Ok(data.to_vec()), NAME) else {
        return;
    };
    let canonical = report
        .canonical()
        .unwrap_or_else(|e| panic!("an imported report has no canonical form: {e}"));
    let stored = Report::from_json(canonical.json.as_bytes())
        .unwrap_or_else(|e| panic!("an imported report's stored form is refused: {e}"));
    assert_eq!(stored, report, "stored form reads back as another report");

    let yaml = qubes_hcl::to_yaml(&report)
        .unwrap_or_else(|e| panic!("an imported report does not export: {e}"));
    let again = qubes_hcl::from_yaml(&yaml, NAME)
        .unwrap_or_else(|e| panic!("the export does not import: {e}\n{yaml}"));
    assert_eq!(
        qubes_hcl::RoundTripFacts::of(&again),
        qubes_hcl::RoundTripFacts::of(&report),
        "export changed the facts:\n{yaml}"
    );
}
