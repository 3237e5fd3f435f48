-- +goose Up
-- Changes (deploys, rollbacks, flag flips, …) normalised from every sender, with the raw payload.
CREATE TABLE changes (
    id          TEXT PRIMARY KEY,
    time        INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    service     TEXT NOT NULL DEFAULT '',
    environment TEXT NOT NULL DEFAULT '',
    flag        TEXT NOT NULL DEFAULT '',
    from_value  TEXT NOT NULL DEFAULT '',
    to_value    TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL DEFAULT '',
    link        TEXT NOT NULL DEFAULT '',
    summary     TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL,
    raw         TEXT NOT NULL DEFAULT '',
    recorded_at INTEGER NOT NULL
);
CREATE INDEX changes_time ON changes (time);
CREATE INDEX changes_service_time ON changes (service, time);

-- +goose Down
DROP TABLE changes;
