package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/sextant-sre/sextant/internal/incident"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/sqlite/*.sql
var sqliteMigrations embed.FS

// SQLite is the default store: one file, WAL mode, every append synced before it is acknowledged.
type SQLite struct {
	path  string
	write *sql.DB // one connection: the writer's, and the token writes
	read  *sql.DB // a small pool of read-only connections (WAL lets them run beside the writer)
	w     *writer
}

var _ Store = (*SQLite)(nil)

// OpenSQLite opens (creating if needed) the database in dir/sextant.db, runs the migrations and
// starts the writer.
func OpenSQLite(ctx context.Context, dir string, opt Options) (*SQLite, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, "sextant.db")
	pragmas := func(extra ...string) string {
		q := url.Values{}
		for _, p := range append([]string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)"}, extra...) {
			q.Add("_pragma", p)
		}
		return "file:" + path + "?" + q.Encode()
	}
	write, err := sql.Open("sqlite", pragmas("synchronous(FULL)")+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", pragmas("query_only(1)"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	read.SetMaxOpenConns(4)
	s := &SQLite{path: path, write: write, read: read}
	s.w, err = startWriter(ctx, write, opt)
	if err != nil {
		s.write.Close()
		s.read.Close()
		return nil, err
	}
	return s, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(sqliteMigrations, "migrations/sqlite")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	return nil
}

// Path is the database file.
func (s *SQLite) Path() string { return s.path }

// Append implements Store.
func (s *SQLite) Append(ctx context.Context, req AppendRequest) (AppendResult, error) {
	return s.w.submit(ctx, req)
}

// Close drains queued appends, then closes the database.
func (s *SQLite) Close() error {
	s.w.close()
	return errors.Join(s.read.Close(), s.write.Close())
}

// Ping implements Store.
func (s *SQLite) Ping(ctx context.Context) error {
	var one int
	return s.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM incidents LIMIT 1)").Scan(&one)
}

const eventColumns = "pos, id, incident_id, seq, occurred_at, recorded_at, actor_kind, actor_id, actor_name, type, payload, refs"

type rowScanner interface{ Scan(dest ...any) error }

func scanEvent(r rowScanner) (incident.Event, error) {
	var ev incident.Event
	var occurred, recorded int64
	var payload, refs string
	if err := r.Scan(&ev.Pos, &ev.ID, &ev.IncidentID, &ev.Seq, &occurred, &recorded, &ev.Actor.Kind, &ev.Actor.ID,
		&ev.Actor.Name, &ev.Type, &payload, &refs); err != nil {
		return ev, err
	}
	ev.OccurredAt, ev.RecordedAt = fromNanos(occurred), fromNanos(recorded)
	p, err := incident.LoadPayload(ev.Type, []byte(payload))
	if err != nil {
		return ev, fmt.Errorf("event %s: %w", ev.ID, err)
	}
	ev.Payload = p
	if err := json.Unmarshal([]byte(refs), &ev.Refs); err != nil {
		return ev, fmt.Errorf("event %s refs: %w", ev.ID, err)
	}
	return ev, nil
}

// Events implements Store.
func (s *SQLite) Events(ctx context.Context, incidentID string, afterSeq int64, limit int) ([]incident.Event, error) {
	return queryEvents(ctx, s.read, incidentID, afterSeq, limit)
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryEvents(ctx context.Context, db querier, incidentID string, afterSeq int64, limit int) ([]incident.Event, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	events, err := queryAll(ctx, db, scanEvent, "SELECT "+eventColumns+" FROM events WHERE incident_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
		incidentID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("query events of %s: %w", incidentID, err)
	}
	return events, nil
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, db querier, scan func(rowScanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

const headlineColumns = "id, number, title, severity, status, declared_at, updated_at, last_seq, last_pos, commander, impact"

func scanHeadline(r rowScanner) (incident.Headline, error) {
	var h incident.Headline
	var declared, updated int64
	err := r.Scan(&h.ID, &h.Number, &h.Title, &h.Severity, &h.Status, &declared, &updated, &h.LastSeq, &h.LastPos, &h.Commander, &h.Impact)
	h.DeclaredAt, h.UpdatedAt = fromNanos(declared), fromNanos(updated)
	return h, err
}

// Incident implements Store.
func (s *SQLite) Incident(ctx context.Context, id string) (incident.Headline, error) {
	h, err := scanHeadline(s.read.QueryRowContext(ctx, "SELECT "+headlineColumns+" FROM incidents WHERE id = $1", id))
	if errors.Is(err, sql.ErrNoRows) {
		return h, ErrNotFound
	}
	return h, err
}

// Incidents implements Store.
func (s *SQLite) Incidents(ctx context.Context, f Filter) ([]incident.Headline, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		ph := make([]string, len(vals))
		for i, v := range vals {
			ph[i] = arg(v)
		}
		where = append(where, col+" IN ("+strings.Join(ph, ",")+")")
	}
	in("status", strs(f.Statuses))
	in("severity", strs(f.Severities))
	if f.Open {
		where = append(where, "status NOT IN ('resolved','closed')")
	}
	if f.Query != "" {
		where = append(where, "title LIKE "+arg("%"+escapeLike(f.Query)+"%")+" ESCAPE '\\'")
	}
	q := "SELECT " + headlineColumns + " FROM incidents"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	q += " ORDER BY updated_at DESC LIMIT " + arg(limit)
	return s.headlines(ctx, q, args...)
}

// LastPos implements Store.
func (s *SQLite) LastPos(ctx context.Context) (int64, error) {
	var pos int64
	err := s.read.QueryRowContext(ctx, "SELECT COALESCE(MAX(pos), 0) FROM events").Scan(&pos)
	return pos, err
}

// ChangedSince implements Store.
func (s *SQLite) ChangedSince(ctx context.Context, afterPos int64) ([]incident.Headline, error) {
	return s.headlines(ctx, "SELECT "+headlineColumns+" FROM incidents WHERE last_pos > $1 ORDER BY last_pos", afterPos)
}

func (s *SQLite) headlines(ctx context.Context, q string, args ...any) ([]incident.Headline, error) {
	list, err := queryAll(ctx, s.read, scanHeadline, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return list, nil
}

func strs[T ~string](v []T) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = string(x)
	}
	return out
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
