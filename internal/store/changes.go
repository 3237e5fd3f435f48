package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sextant-sre/sextant/internal/changes"
)

const changeColumns = "id, time, kind, service, environment, flag, from_value, to_value, actor, link, summary, source, raw"

// RecordChange implements Store. It reports false when a change with the same id was already
// stored (a redelivery), in which case nothing is written.
func (s *SQLite) RecordChange(ctx context.Context, c changes.Change, now time.Time) (bool, error) {
	res, err := s.write.ExecContext(ctx, `INSERT INTO changes (`+changeColumns+`, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (id) DO NOTHING`,
		c.ID, nanos(c.Time), c.Kind, c.Service, c.Environment, c.Flag, c.From, c.To, c.Actor, c.Link, c.Summary, c.Source, string(c.Raw), nanos(now))
	if err != nil {
		return false, fmt.Errorf("record change %s: %w", c.ID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func scanChange(r rowScanner) (changes.Change, error) {
	var c changes.Change
	var t int64
	var raw string
	err := r.Scan(&c.ID, &t, &c.Kind, &c.Service, &c.Environment, &c.Flag, &c.From, &c.To, &c.Actor, &c.Link, &c.Summary, &c.Source, &raw)
	c.Time = fromNanos(t)
	if raw != "" {
		c.Raw = json.RawMessage(raw)
	}
	return c, err
}

// Changes implements Store: changes in [Start, End], newest first.
func (s *SQLite) Changes(ctx context.Context, f changes.Filter) ([]changes.Change, error) {
	where := []string{"time >= $1", "time <= $2"}
	args := []any{nanos(f.Start), nanos(f.End)}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if len(f.Kinds) > 0 {
		ph := make([]string, len(f.Kinds))
		for i, k := range f.Kinds {
			ph[i] = arg(string(k))
		}
		where = append(where, "kind IN ("+strings.Join(ph, ",")+")")
	}
	if f.Service != "" {
		where = append(where, "service = "+arg(f.Service))
	}
	if f.Environment != "" {
		where = append(where, "environment = "+arg(f.Environment))
	}
	limit := f.Limit
	if limit <= 0 || limit > 5000 {
		limit = 5000
	}
	q := "SELECT " + changeColumns + " FROM changes WHERE " + strings.Join(where, " AND ") + " ORDER BY time DESC LIMIT " + arg(limit)
	out, err := queryAll(ctx, s.read, scanChange, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list changes: %w", err)
	}
	return out, nil
}
