package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AlertLink is what Sextant remembers of an alert it acted on: the incident it went to and the
// event that holds it there.
type AlertLink struct {
	Fingerprint string
	IncidentID  string
	// SignalEvent is the newest signal.attached event for the alert (superseded on each change).
	SignalEvent string
	Status      string
	UpdatedAt   time.Time
}

// deliveryRetention is how long a delivery's key is kept to recognise a redelivery.
const deliveryRetention = 7 * 24 * time.Hour

// AlertLink implements Store.
func (s *SQLite) AlertLink(ctx context.Context, fingerprint string) (AlertLink, bool, error) {
	var l AlertLink
	var updated int64
	err := s.read.QueryRowContext(ctx, "SELECT fingerprint, incident_id, signal_event, status, updated_at FROM alert_links WHERE fingerprint = $1", fingerprint).
		Scan(&l.Fingerprint, &l.IncidentID, &l.SignalEvent, &l.Status, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, fmt.Errorf("read alert link: %w", err)
	}
	l.UpdatedAt = fromNanos(updated)
	return l, true, nil
}

// SaveAlertLink implements Store.
func (s *SQLite) SaveAlertLink(ctx context.Context, l AlertLink) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO alert_links (fingerprint, incident_id, signal_event, status, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (fingerprint) DO UPDATE SET incident_id = excluded.incident_id, signal_event = excluded.signal_event,
			status = excluded.status, updated_at = excluded.updated_at`,
		l.Fingerprint, l.IncidentID, l.SignalEvent, l.Status, nanos(l.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save alert link: %w", err)
	}
	return nil
}

// Delivered implements Store.
func (s *SQLite) Delivered(ctx context.Context, key string) (bool, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM deliveries WHERE key = $1", key).Scan(&n); err != nil {
		return false, fmt.Errorf("look up delivery: %w", err)
	}
	return n > 0, nil
}
