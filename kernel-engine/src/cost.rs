//! What losing a driver costs a user: the one list of drivers whose loss weighs zero, with the
//! reason for each. [`crate::Profile::coverage`] sets [`hcl_data::Coverage::zero_weight`] from
//! it, so the probe and the aggregator weigh losses by the same rule.

use hcl_data::ZeroWeight;

/// EDAC drivers: they report memory errors (ECC) of a memory controller; the machine works the
/// same without them.
const EDAC_CLIENT: &str = "ECC error reporting of a client or entry-level host bridge; most of \
     these chips run non-ECC memory, where the driver reports nothing";
const EDAC_SERVER: &str = "ECC error reporting of a server memory controller; the machine works \
     without it, only corrected-error counts and warnings are lost";
const EDAC_CPU: &str = "ECC error reporting, matched by CPU family; the machine works without it";

/// AGP bridge drivers: the GART of AGP-era host bridges.
const AGP_INTEL: &str = "AGP GART of Intel host bridges; i915 drives the integrated GPU \
     without it (it needs intel-gtt, a separate driver; RHEL 8, 9 and 10 set no CONFIG_AGP and \
     drive the same GPUs), only an AGP card would use it";
const AGP_OTHER: &str = "AGP GART of a host bridge; only an AGP graphics card uses it, \
     integrated and PCIe graphics do not";

/// Every driver whose loss weighs zero: (module name, class, why), sorted by name.
pub const ZERO_WEIGHT: &[(&str, ZeroWeight, &str)] = &[
    ("agpgart", ZeroWeight::AgpBridge, AGP_OTHER),
    ("ali_agp", ZeroWeight::AgpBridge, AGP_OTHER),
    ("amd64_agp", ZeroWeight::AgpBridge, AGP_OTHER),
    ("amd64_edac", ZeroWeight::Edac, EDAC_CPU),
    ("amd_k7_agp", ZeroWeight::AgpBridge, AGP_OTHER),
    ("ati_agp", ZeroWeight::AgpBridge, AGP_OTHER),
    ("e752x_edac", ZeroWeight::Edac, EDAC_SERVER),
    ("e7xxx_edac", ZeroWeight::Edac, EDAC_SERVER),
    ("edac_mce_amd", ZeroWeight::Edac, EDAC_CPU),
    ("efficeon_agp", ZeroWeight::AgpBridge, AGP_OTHER),
    ("i10nm_edac", ZeroWeight::Edac, EDAC_SERVER),
    ("i3000_edac", ZeroWeight::Edac, EDAC_CLIENT),
    ("i3200_edac", ZeroWeight::Edac, EDAC_CLIENT),
    ("i5000_edac", ZeroWeight::Edac, EDAC_SERVER),
    ("i5100_edac", ZeroWeight::Edac, EDAC_SERVER),
    ("i5400_edac", ZeroWeight::Edac, EDAC_SERVER),
    ("i7300_edac", ZeroWeight::Edac, EDAC_SERVER),
    ("i7core_edac", ZeroWeight::Edac, EDAC_SERVER),
    ("i82975x_edac", ZeroWeight::Edac, EDAC_CLIENT),
    ("ie31200_edac", ZeroWeight::Edac, EDAC_CLIENT),
    ("igen6_edac", ZeroWeight::Edac, EDAC_CLIENT),
    ("imh_edac", ZeroWeight::Edac, EDAC_SERVER),
    ("intel_agp", ZeroWeight::AgpBridge, AGP_INTEL),
    ("nvidia_agp", ZeroWeight::AgpBridge, AGP_OTHER),
    ("pnd2_edac", ZeroWeight::Edac, EDAC_CLIENT),
    ("sb_edac", ZeroWeight::Edac, EDAC_SERVER),
    ("sis_agp", ZeroWeight::AgpBridge, AGP_OTHER),
    ("skx_edac", ZeroWeight::Edac, EDAC_SERVER),
    ("sworks_agp", ZeroWeight::AgpBridge, AGP_OTHER),
    ("via_agp", ZeroWeight::AgpBridge, AGP_OTHER),
    ("x38_edac", ZeroWeight::Edac, EDAC_CLIENT),
];

/// The class and reason of a driver whose loss weighs zero (`-` and `_` alike).
pub fn zero_weight(module: &str) -> Option<(ZeroWeight, &'static str)> {
    let name = module.replace('-', "_");
    ZERO_WEIGHT
        .binary_search_by(|(m, _, _)| (*m).cmp(name.as_str()))
        .ok()
        .and_then(|i| ZERO_WEIGHT.get(i))
        .map(|(_, w, why)| (*w, *why))
}

/// The class when every driver of a device weighs zero (the first one's); None when any of them
/// counts, or there are none.
pub fn zero_weight_of<'a>(drivers: impl IntoIterator<Item = &'a str>) -> Option<ZeroWeight> {
    let mut class = None;
    for d in drivers {
        let (w, _) = zero_weight(d)?;
        class.get_or_insert(w);
    }
    class
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_each_entry_says_why() {
        assert!(ZERO_WEIGHT.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(ZERO_WEIGHT.iter().all(|(_, _, why)| why.len() > 40));
        assert!(
            ZERO_WEIGHT
                .iter()
                .all(|(m, w, _)| m.ends_with("_edac") == (*w == ZeroWeight::Edac)
                    || *m == "edac_mce_amd")
        );
    }

    #[test]
    fn a_device_weighs_zero_only_when_all_its_drivers_do() {
        assert_eq!(zero_weight_of(["ie31200_edac"]), Some(ZeroWeight::Edac));
        assert_eq!(zero_weight_of(["intel-agp"]), Some(ZeroWeight::AgpBridge));
        assert_eq!(zero_weight_of(["intel_agp", "i915"]), None);
        assert_eq!(zero_weight_of([]), None);
    }
}
