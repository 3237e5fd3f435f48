-- +goose Up
-- What Sextant did with each alert fingerprint: the incident it went to, and the newest
-- signal.attached event that holds it there.
CREATE TABLE alert_links (
    fingerprint  TEXT PRIMARY KEY,
    incident_id  TEXT NOT NULL REFERENCES incidents (id),
    signal_event TEXT NOT NULL,
    status       TEXT NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- Webhook deliveries already processed, by content hash, so a redelivery is processed once.
CREATE TABLE deliveries (
    key         TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL
);
CREATE INDEX deliveries_received ON deliveries (received_at);

-- +goose Down
DROP TABLE deliveries;
DROP TABLE alert_links;
