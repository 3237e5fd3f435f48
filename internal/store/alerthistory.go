package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// AlertEvent is one alert state as received.
type AlertEvent struct {
	Fingerprint string            `json:"fingerprint"`
	Name        string            `json:"name"`
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"starts_at"`
	EndsAt      time.Time         `json:"ends_at,omitzero"`
	Source      string            `json:"source"`
	ReceivedAt  time.Time         `json:"received_at"`
}

// MarkDelivered implements Store: the delivery's key and the alert states it carried are
// recorded in one transaction, so a delivery is in the history once or not at all. It also
// forgets deliveries older than a week.
func (s *SQLite) MarkDelivered(ctx context.Context, key string, at time.Time, alerts []AlertEvent) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM deliveries WHERE received_at < $1", nanos(at.Add(-deliveryRetention))); err != nil {
		return fmt.Errorf("prune deliveries: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO deliveries (key, received_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", key, nanos(at)); err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	for _, a := range alerts {
		lbls, _ := json.Marshal(a.Labels)
		ann, _ := json.Marshal(a.Annotations)
		_, err := tx.ExecContext(ctx, `INSERT INTO alert_events (fingerprint, name, status, labels, annotations, starts_at, ends_at, source, received_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			a.Fingerprint, a.Name, a.Status, string(lbls), string(ann), nanos(a.StartsAt), nanos(a.EndsAt), a.Source, nanos(a.ReceivedAt))
		if err != nil {
			return fmt.Errorf("record alert: %w", err)
		}
	}
	return tx.Commit()
}

// AlertEvents implements Store: the alert states received in [start, end], oldest first.
func (s *SQLite) AlertEvents(ctx context.Context, start, end time.Time) ([]AlertEvent, error) {
	out, err := queryAll(ctx, s.read, func(r rowScanner) (AlertEvent, error) {
		var a AlertEvent
		var lbls, ann string
		var starts, ends, received int64
		if err := r.Scan(&a.Fingerprint, &a.Name, &a.Status, &lbls, &ann, &starts, &ends, &a.Source, &received); err != nil {
			return a, err
		}
		_ = json.Unmarshal([]byte(lbls), &a.Labels)
		_ = json.Unmarshal([]byte(ann), &a.Annotations)
		a.StartsAt, a.ReceivedAt = fromNanos(starts), fromNanos(received)
		if ends > 0 {
			a.EndsAt = fromNanos(ends)
		}
		return a, nil
	}, `SELECT fingerprint, name, status, labels, annotations, starts_at, ends_at, source, received_at FROM alert_events
		WHERE received_at >= $1 AND received_at <= $2 ORDER BY id LIMIT 10000`, nanos(start), nanos(end))
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return out, nil
}
