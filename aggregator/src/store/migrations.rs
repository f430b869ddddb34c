//! The migrations of each backend, embedded in the binary from `migrations/<backend>/` by
//! `sqlx::migrate!` (no migration files needed at run time).

use sqlx::migrate::Migrator;

pub fn sqlite() -> Migrator {
    sqlx::migrate!("migrations/sqlite")
}

pub fn postgres() -> Migrator {
    sqlx::migrate!("migrations/postgres")
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use sqlx::migrate::{Migration, MigrationType, Migrator};

    /// Databases migrated by earlier builds, which listed the migrations by hand, see the
    /// embedded ones as already applied: same versions, descriptions and checksums.
    #[test]
    fn embedded_migrations_are_the_earlier_hand_list() {
        let hand = |list: [(i64, &'static str, &'static str); 4]| -> Vec<Migration> {
            list.into_iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect()
        };
        let same = |m: Migrator, want: Vec<Migration>| {
            let got: Vec<_> = m
                .iter()
                .map(|m| {
                    (
                        m.version,
                        m.description.to_string(),
                        m.checksum.to_vec(),
                        m.no_tx,
                    )
                })
                .collect();
            let want: Vec<_> = want
                .iter()
                .map(|m| {
                    (
                        m.version,
                        m.description.to_string(),
                        m.checksum.to_vec(),
                        m.no_tx,
                    )
                })
                .collect();
            assert_eq!(got, want);
        };
        same(
            super::sqlite(),
            hand([
                (
                    1,
                    "reports",
                    include_str!("../../migrations/sqlite/0001_reports.sql"),
                ),
                (
                    2,
                    "deleted reports",
                    include_str!("../../migrations/sqlite/0002_deleted_reports.sql"),
                ),
                (
                    3,
                    "tombstone content key",
                    include_str!("../../migrations/sqlite/0003_tombstone_content_key.sql"),
                ),
                (
                    4,
                    "write probe",
                    include_str!("../../migrations/sqlite/0004_write_probe.sql"),
                ),
            ]),
        );
        same(
            super::postgres(),
            hand([
                (
                    1,
                    "reports",
                    include_str!("../../migrations/postgres/0001_reports.sql"),
                ),
                (
                    2,
                    "deleted reports",
                    include_str!("../../migrations/postgres/0002_deleted_reports.sql"),
                ),
                (
                    3,
                    "tombstone content key",
                    include_str!("../../migrations/postgres/0003_tombstone_content_key.sql"),
                ),
                (
                    4,
                    "write probe",
                    include_str!("../../migrations/postgres/0004_write_probe.sql"),
                ),
            ]),
        );
    }
}
