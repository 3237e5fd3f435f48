package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/sextant-sre/sextant/internal/incident"
)

// writer serialises every append through one goroutine and one connection, and commits the
// appends that queue up while a commit is in flight in one transaction (group commit): each is
// acknowledged only after that transaction is synced, yet the disk's sync rate no longer caps the
// append rate. Being the only writer, it also owns the cache of incident states that appends are
// checked against.
type writer struct {
	db   *sql.DB
	opt  Options
	now  func() time.Time
	reqs chan *pending
	done chan struct{}

	mu     sync.RWMutex // guards closed against submits racing close
	closed bool

	// Owned by the writer goroutine.
	states     map[string]*incident.State
	nextNumber int64
}

type pending struct {
	ctx  context.Context
	req  AppendRequest
	res  AppendResult
	err  error
	done chan struct{}
}

const (
	defaultMaxBatch = 1024
	maxCachedStates = 4096
	// maxFutureSkew is how far ahead of the server's clock occurred_at may be (client clocks drift).
	maxFutureSkew = 5 * time.Minute
)

func startWriter(ctx context.Context, db *sql.DB, opt Options) (*writer, error) {
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = defaultMaxBatch
	}
	w := &writer{db: db, opt: opt, now: opt.Now, reqs: make(chan *pending, opt.MaxBatch), done: make(chan struct{}),
		states: map[string]*incident.State{}}
	if w.now == nil {
		w.now = time.Now
	}
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(number), 0) FROM incidents").Scan(&w.nextNumber); err != nil {
		return nil, fmt.Errorf("read incident numbers: %w", err)
	}
	go w.run()
	return w, nil
}

// submit queues an append and waits for its commit. Once queued, it waits for the answer even if
// ctx ends, so that the caller never reports as failed an append that was in fact stored.
func (w *writer) submit(ctx context.Context, req AppendRequest) (AppendResult, error) {
	p := &pending{ctx: ctx, req: req, done: make(chan struct{})}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return AppendResult{}, ErrClosed
	}
	select {
	case w.reqs <- p:
	case <-ctx.Done():
		w.mu.RUnlock()
		return AppendResult{}, ctx.Err()
	}
	w.mu.RUnlock()
	<-p.done
	return p.res, p.err
}

// close stops new appends, lets the queued ones commit, and waits for the writer to finish.
func (w *writer) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.reqs)
	}
	w.mu.Unlock()
	<-w.done
}

func (w *writer) run() {
	defer close(w.done)
	for first := range w.reqs {
		batch := []*pending{first}
	drain:
		for len(batch) < w.opt.MaxBatch {
			select {
			case p, ok := <-w.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, p)
			default:
				break drain
			}
		}
		w.commit(batch)
	}
}

// commit stores a batch in one transaction. A request refused by validation gets its own error
// and does not affect the others; a database failure fails every request of the batch that was
// not already refused, and nothing of it is stored.
func (w *writer) commit(batch []*pending) {
	touched := map[string]*incident.State{}
	var committed []Committed
	fail := func(err error) {
		for id := range touched {
			delete(w.states, id)
		}
		for _, p := range batch {
			if p.err == nil {
				p.err, p.res = err, AppendResult{}
			}
			close(p.done)
		}
	}
	tx, err := w.db.Begin()
	if err != nil {
		fail(fmt.Errorf("begin transaction: %w", err))
		return
	}
	insert, err := tx.Prepare(`INSERT INTO events (id, incident_id, seq, occurred_at, recorded_at, actor_kind, actor_id, actor_name, type, payload, refs)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`)
	if err != nil {
		tx.Rollback()
		fail(fmt.Errorf("prepare insert: %w", err))
		return
	}
	defer insert.Close()
	upsert, err := tx.Prepare(upsertHeadlineSQL)
	if err != nil {
		tx.Rollback()
		fail(fmt.Errorf("prepare upsert: %w", err))
		return
	}
	defer upsert.Close()
	numbers := w.nextNumber
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.err = err // the caller gave up before anything was written: safe to skip
			continue
		}
		st, err := w.stage(tx, insert, p, &numbers)
		if st != nil {
			touched[p.req.IncidentID] = st
		}
		var fatal *dbError
		if errors.As(err, &fatal) {
			tx.Rollback()
			delete(w.states, p.req.IncidentID)
			fail(err)
			return
		}
		p.err = err
	}
	for _, st := range touched {
		if err := upsertHeadline(upsert, st.Headline()); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("commit: %w", err))
		return
	}
	w.nextNumber = numbers
	for _, p := range batch {
		if p.err == nil && !p.res.Replayed {
			for _, ev := range p.res.Events {
				committed = append(committed, Committed{Event: ev, Headline: p.res.Headline})
			}
		}
		close(p.done)
	}
	w.evict(touched)
	if w.opt.OnCommit != nil && len(committed) > 0 {
		w.opt.OnCommit(committed)
	}
}

// dbError marks a failure of the database itself, as opposed to a refused request.
type dbError struct{ err error }

func (e *dbError) Error() string { return e.err.Error() }
func (e *dbError) Unwrap() error { return e.err }

// stage checks one request against its incident's state and inserts its events. It returns the
// incident's new state (nil if the request was refused before any change).
func (w *writer) stage(tx *sql.Tx, insert *sql.Stmt, p *pending, numbers *int64) (*incident.State, error) {
	req := p.req
	if len(req.Drafts) == 0 {
		return nil, &incident.FieldError{Field: "events", Msg: "at least one event is required"}
	}
	st, err := w.state(tx, req.IncidentID)
	if err != nil {
		return nil, &dbError{err}
	}
	switch {
	case req.Create && st != nil:
		if res, ok, err := w.replay(tx, st, req); ok || err != nil {
			p.res = res
			return nil, err
		}
		return nil, ErrExists
	case req.Create:
		st = incident.New(req.IncidentID)
		st.Number = *numbers + 1
	case st == nil:
		return nil, ErrNotFound
	}
	if res, ok, err := w.replay(tx, st, req); ok || err != nil {
		p.res = res
		return nil, err
	}
	if req.ExpectedSeq != nil && *req.ExpectedSeq != st.LastSeq {
		return nil, &SeqConflict{Expected: *req.ExpectedSeq, Current: st.LastSeq}
	}
	work := st
	if len(req.Drafts) > 1 || req.Create {
		work = st.Clone() // a refusal part-way must leave the cached state untouched
	}
	now := w.now().UTC()
	events := make([]incident.Event, len(req.Drafts))
	for i, d := range req.Drafts {
		ev, err := w.event(tx, req, i, d, work.LastSeq+1, now)
		if err != nil {
			return nil, err
		}
		if err := work.Apply(ev); err != nil {
			return nil, atIndex(i, err)
		}
		events[i] = ev
	}
	for i := range events {
		if err := insertEvent(insert, &events[i]); err != nil {
			return work, &dbError{err}
		}
		work.LastPos = events[i].Pos
	}
	if req.Create {
		*numbers = st.Number
	}
	// Later requests of the same batch see this one; commit's failure path drops it again.
	w.states[req.IncidentID] = work
	p.res = AppendResult{Events: events, Headline: work.Headline()}
	return work, nil
}

// event turns a draft into the event to store.
func (w *writer) event(tx *sql.Tx, req AppendRequest, i int, d incident.Draft, seq int64, now time.Time) (incident.Event, error) {
	if i == 0 && req.Create && d.Type != incident.TypeDeclared {
		return incident.Event{}, &incident.FieldError{Field: fmt.Sprintf("events[%d].type", i), Msg: "the first event of a new incident must be " + string(incident.TypeDeclared)}
	}
	ev := incident.Event{ID: d.ID, IncidentID: req.IncidentID, Seq: seq, OccurredAt: d.OccurredAt.UTC(), RecordedAt: now,
		Actor: req.Actor, Type: d.Type, Payload: d.Payload, Refs: d.Refs}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = now
	} else if ev.OccurredAt.After(now.Add(maxFutureSkew)) {
		return ev, &incident.FieldError{Field: fmt.Sprintf("events[%d].occurred_at", i), Msg: "is in the future; back-dating is allowed, forward-dating is not"}
	}
	if ev.ID == "" {
		ev.ID = uuid.Must(uuid.NewV7()).String()
	} else {
		var other string
		err := tx.QueryRow("SELECT incident_id FROM events WHERE id = $1", ev.ID).Scan(&other)
		if err == nil {
			return ev, &IDConflict{Index: i, ID: ev.ID}
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return ev, &dbError{err}
		}
	}
	return ev, nil
}

// replay answers a retried append: if every draft carries an id already stored in this incident,
// it returns the stored events and writes nothing. ok is false when the request is not a retry.
func (w *writer) replay(tx *sql.Tx, st *incident.State, req AppendRequest) (res AppendResult, ok bool, err error) {
	seen := 0
	for i, d := range req.Drafts {
		switch {
		case d.ID != "" && st.Has(d.ID):
			seen++
		case seen > 0:
			return res, false, &IDConflict{Index: i, ID: d.ID}
		}
	}
	if seen == 0 {
		return res, false, nil
	}
	if seen != len(req.Drafts) {
		return res, false, &IDConflict{Index: seen, ID: req.Drafts[seen].ID}
	}
	for _, d := range req.Drafts {
		ev, err := scanEvent(tx.QueryRow("SELECT "+eventColumns+" FROM events WHERE id = $1", d.ID))
		if err != nil {
			return res, false, &dbError{fmt.Errorf("read replayed event %s: %w", d.ID, err)}
		}
		res.Events = append(res.Events, ev)
	}
	res.Replayed, res.Headline = true, st.Headline()
	return res, true, nil
}

// state returns the cached state of an incident, loading it from the log on a miss; nil if the
// incident does not exist.
func (w *writer) state(tx *sql.Tx, id string) (*incident.State, error) {
	if st, ok := w.states[id]; ok {
		return st, nil
	}
	var number int64
	err := tx.QueryRow("SELECT number FROM incidents WHERE id = $1", id).Scan(&number)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up incident %s: %w", id, err)
	}
	events, err := queryEvents(context.Background(), tx, id, 0, 0)
	if err != nil {
		return nil, err
	}
	st := incident.Project(id, events)
	st.Number = number
	w.states[id] = st
	return st, nil
}

// evict keeps the cache bounded, sparing the incidents just written.
func (w *writer) evict(keep map[string]*incident.State) {
	for id := range w.states {
		if len(w.states) <= maxCachedStates {
			return
		}
		if _, ok := keep[id]; !ok {
			delete(w.states, id)
		}
	}
}

func insertEvent(insert *sql.Stmt, ev *incident.Event) error {
	payload, err := json.Marshal(ev.Payload)
	if err != nil {
		return fmt.Errorf("encode payload of %s: %w", ev.ID, err)
	}
	refs, err := json.Marshal(ev.Refs)
	if err != nil {
		return fmt.Errorf("encode refs of %s: %w", ev.ID, err)
	}
	res, err := insert.Exec(ev.ID, ev.IncidentID, ev.Seq, nanos(ev.OccurredAt), nanos(ev.RecordedAt), ev.Actor.Kind,
		ev.Actor.ID, ev.Actor.Name, ev.Type, string(payload), string(refs))
	if err != nil {
		return fmt.Errorf("insert event %s: %w", ev.ID, err)
	}
	// pos is the table's INTEGER PRIMARY KEY, so the rowid is the position.
	ev.Pos, err = res.LastInsertId()
	return err
}

const upsertHeadlineSQL = `INSERT INTO incidents (` + headlineColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
	ON CONFLICT (id) DO UPDATE SET title = excluded.title, severity = excluded.severity, status = excluded.status,
		updated_at = excluded.updated_at, last_seq = excluded.last_seq, last_pos = excluded.last_pos,
		commander = excluded.commander, impact = excluded.impact`

func upsertHeadline(upsert *sql.Stmt, h incident.Headline) error {
	_, err := upsert.Exec(h.ID, h.Number, h.Title, h.Severity, h.Status, nanos(h.DeclaredAt), nanos(h.UpdatedAt), h.LastSeq, h.LastPos, h.Commander, h.Impact)
	if err != nil {
		return fmt.Errorf("update incident %s: %w", h.ID, err)
	}
	return nil
}

// atIndex puts an error's field under events[i].
func atIndex(i int, err error) error {
	prefix := fmt.Sprintf("events[%d]", i)
	var se *incident.StateError
	if errors.As(err, &se) {
		return &incident.StateError{Field: prefix + "." + se.Field, Msg: se.Msg}
	}
	return incident.WithPrefix(prefix, err)
}
