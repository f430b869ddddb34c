-- Content ids of reports a moderator deleted: the same report uploaded again is refused (410),
-- not stored again.
CREATE TABLE deleted_reports (
    id TEXT PRIMARY KEY,
    deleted_at TEXT NOT NULL
);
