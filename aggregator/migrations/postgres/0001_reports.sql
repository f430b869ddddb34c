-- Reports as uploaded (validated), keyed by content id. `seq` gives the arrival order.
CREATE TABLE reports (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    received_at TEXT NOT NULL,
    hidden BOOLEAN NOT NULL DEFAULT FALSE,
    body TEXT NOT NULL
);
