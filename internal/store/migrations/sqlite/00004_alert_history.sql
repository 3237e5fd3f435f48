-- +goose Up
-- Every alert state Sextant received (firing, resolved), for "alerts in a window".
CREATE TABLE alert_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    labels      TEXT NOT NULL,
    annotations TEXT NOT NULL,
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    source      TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX alert_events_received ON alert_events (received_at);

-- +goose Down
DROP TABLE alert_events;
