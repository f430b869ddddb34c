//! The migrations of each backend, embedded in the binary (no migration files needed at run time).

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

fn migrator(list: &[(i64, &'static str, &'static str)]) -> Migrator {
    let migrations: Vec<Migration> = list
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

pub fn sqlite() -> Migrator {
    migrator(&[
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
    ])
}

pub fn postgres() -> Migrator {
    migrator(&[
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
    ])
}
