//! End-to-end tests across the crates.

#[test]
fn shared_data_is_beside_the_project() {
    assert!(hcl_e2e::shared_dir().join("kernel-data").is_dir());
}
