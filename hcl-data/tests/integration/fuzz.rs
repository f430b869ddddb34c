//! Random input never panics any reader.

use hcl_data::{Report, qubes_hcl};
use proptest::prelude::*;

use crate::common::hcl_dir;

fn nuc_file() -> String {
    std::fs::read_to_string(hcl_dir().join("Intel-NUC13ANHi5-20230728.yml")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn from_json_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = Report::from_json(&bytes);
    }

    #[test]
    fn from_yaml_never_panics(text in "\\PC{0,400}") {
        let _ = Report::from_yaml(&text);
        let _ = qubes_hcl::from_yaml(&text, "random.yml");
    }

    #[test]
    fn yamlish_text_never_panics(
        lines in proptest::collection::vec(
            ("[a-z_-]{0,8}", prop_oneof![Just(": "), Just(":\n  "), Just(": |\n  "), Just("- "), Just(": &a "), Just(": *a "), Just(": {")], "[ -~]{0,20}"),
            0..30,
        )
    ) {
        let text: String = lines.iter().map(|(k, s, v)| format!("{k}{s}{v}\n")).collect();
        let _ = Report::from_yaml(&text);
        let _ = qubes_hcl::from_yaml(&text, "random.yml");
    }

    #[test]
    fn mangled_real_hcl_file_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<char>()), 1..12),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut chars: Vec<char> = nuc_file().chars().collect();
        for (at, c) in edits {
            let i = at.index(chars.len());
            chars[i] = c;
        }
        let text: String = chars.iter().collect();
        let _ = qubes_hcl::from_yaml(&text, "mangled.yml");
        let n = cut.index(chars.len());
        let truncated: String = chars[..n].iter().collect();
        if let Ok(r) = qubes_hcl::from_yaml(&truncated, "truncated.yml") {
            // Whatever imports must also export and validate.
            prop_assert!(r.validate().is_ok());
            prop_assert!(qubes_hcl::to_yaml(&r).is_ok());
        }
    }

    #[test]
    fn mangled_report_json_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = serde_json::to_vec(&crate::common::sample_report()).unwrap();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        if let Ok(r) = Report::from_json(&bytes) {
            prop_assert!(r.validate().is_ok());
            let _ = r.content_id();
            let _ = r.privacy_violations();
        }
    }
}
