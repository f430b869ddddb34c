-- One row the health check rewrites after a failed write, to learn whether writes go through
-- again without waiting for an upload. `pad` makes the probe about as large as a big upload as
-- stored, so a nearly full disk that takes a tiny write but not an upload still shows.
CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    pad BLOB
);
