//! The shipped candidate kernels, declared once: their ids, how they are shown, what
//! `build-shipped` makes them from, and their profiles embedded in the binary.

/// One shipped candidate kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shipped {
    /// Profile id (`debian-13`), also its file name `kernels/profiles/<id>.profile.zst`.
    pub id: &'static str,
    /// Column header in the probe's table (at most 6 characters).
    pub short: &'static str,
    pub distro: &'static str,
    pub release: &'static str,
    pub end_of_support: Option<&'static str>,
    /// Where `build-shipped` reads it: the first folder under `kernel-data/` whose path starts
    /// with this.
    pub source: &'static str,
    /// The Debian suites whose packages the kernel's firmware comes from (a backports kernel
    /// runs on the stable release it is built for and installs firmware from either suite);
    /// empty for kernels without a distro firmware list.
    pub firmware_suites: &'static [&'static str],
}

/// Declares the shipped profiles once: the table, the ids and the embedded bytes.
macro_rules! shipped {
    ($($id:literal => { $($field:ident: $value:expr),* $(,)? }),* $(,)?) => {
        /// The shipped profiles, in catalog order.
        pub const SHIPPED: &[Shipped] = &[$(Shipped { id: $id, $($field: $value),* }),*];

        /// The names of the profiles shipped in `kernels/profiles/`, in catalog order.
        pub const SHIPPED_IDS: [&str; [$($id),*].len()] = [$($id),*];

        // The profiles stay where `hcl-kernels build-shipped` writes them, beside the builder.
        pub(crate) static EMBEDDED: &[(&str, &[u8])] = &[$((
            $id,
            include_bytes!(concat!("../../kernels/profiles/", $id, ".profile.zst")),
        )),*];
    };
}

shipped! {
    "debian-12" => {
        short: "deb12",
        distro: "debian",
        release: "12 (bookworm)",
        end_of_support: Some("2028-06-30 (LTS)"),
        source: "debian-bookworm-",
        firmware_suites: &["bookworm"],
    },
    "debian-13" => {
        short: "deb13",
        distro: "debian",
        release: "13 (trixie)",
        end_of_support: Some("2030-06-30 (LTS)"),
        source: "debian-trixie-6",
        firmware_suites: &["trixie"],
    },
    "debian-13-backports" => {
        short: "d13bp",
        distro: "debian",
        release: "13 (trixie-backports)",
        end_of_support: None,
        source: "debian-trixie-backports-",
        firmware_suites: &["trixie", "trixie-backports"],
    },
    "debian-sid" => {
        short: "sid",
        distro: "debian",
        release: "sid (unstable)",
        end_of_support: None,
        source: "debian-sid-",
        firmware_suites: &["sid"],
    },
    "rhel-8.10" => {
        short: "el8",
        distro: "rhel",
        release: "8.10",
        end_of_support: Some("2029-05-31"),
        source: "rhel-derived-aliases/el8.10-",
        firmware_suites: &[],
    },
    "rhel-9.6" => {
        short: "el9",
        distro: "rhel",
        release: "9.6",
        end_of_support: Some("2027-05-31 (EUS)"),
        source: "rhel-derived-aliases/el9.6-",
        firmware_suites: &[],
    },
    "rhel-10.0" => {
        short: "el10",
        distro: "rhel",
        release: "10.0",
        end_of_support: None,
        source: "rhel-derived-aliases/el10.0-",
        firmware_suites: &[],
    },
    "qubes-6.12" => {
        short: "qubes",
        distro: "qubes",
        release: "dom0 stable-6.12",
        end_of_support: Some("2026-12 (upstream 6.12 LTS)"),
        source: "qubes-derived/qubes-6.12",
        firmware_suites: &[],
    },
}

/// The short column header of a kernel id: the shipped one's, else its first six characters.
pub fn short_label(id: &str) -> String {
    match SHIPPED.iter().find(|s| s.id == id) {
        Some(s) => s.short.to_owned(),
        None => id.chars().take(6).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_labels() {
        assert_eq!(short_label("debian-13-backports"), "d13bp");
        assert_eq!(short_label("something-else"), "someth");
        assert!(SHIPPED.iter().all(|s| s.short.chars().count() <= 6));
        assert_eq!(EMBEDDED.len(), SHIPPED.len());
    }
}
