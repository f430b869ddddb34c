//! Random input never panics any reader.

use hcl_data::{Report, qubes_hcl};
use proptest::prelude::*;

use crate::common::hcl_text;

fn nuc_file() -> String {
    hcl_text("Intel-NUC13ANHi5-20230728.yml")
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

/// JSON values whose strings and keys often look like identifiers.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let text = prop_oneof![
        "[ -~]{0,12}",
        Just("00:1b:21:3a:4f:5c".to_owned()),
        Just("id 4c4c4544-0042-3510-8052-b4c04f4e3332 x".to_owned()),
        Just("Serial Number: X".to_owned()),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        text.prop_map(Value::String),
    ];
    let key = prop_oneof![
        "[a-z_]{0,6}",
        Just("serial".to_owned()),
        Just("modalias".to_owned()),
        Just("Host_Name".to_owned()),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The upload path's streaming privacy scan finds exactly what the value-tree walk finds.
    #[test]
    fn streaming_privacy_scan_equals_tree_walk(value in json_value()) {
        let text = serde_json::to_string(&value).unwrap();
        let mut streamed = hcl_data::privacy_scan_json(&text, usize::MAX).unwrap().shown;
        let mut walked = hcl_data::privacy_violations_in_value(&value);
        streamed.sort();
        walked.sort();
        prop_assert_eq!(streamed, walked);
    }
}
