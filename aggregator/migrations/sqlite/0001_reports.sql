-- Reports as uploaded (validated), keyed by content id. `seq` gives the arrival order.
CREATE TABLE reports (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    received_at TEXT NOT NULL,
    hidden INTEGER NOT NULL DEFAULT 0,
    body TEXT NOT NULL
);
