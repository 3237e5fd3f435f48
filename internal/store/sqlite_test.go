package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/incident"
)

var person = incident.Actor{Kind: incident.ActorPerson, ID: "token:t1", Name: "Alice"}

func open(t testing.TB, dir string, opt Options) *SQLite {
	t.Helper()
	s, err := OpenSQLite(context.Background(), dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func declare(t testing.TB, s Store, title string) string {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	_, err := s.Append(context.Background(), AppendRequest{IncidentID: id, Create: true, Actor: person,
		Drafts: []incident.Draft{{Type: incident.TypeDeclared, Payload: incident.Declared{Title: title, Severity: "SEV2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func note(text string) incident.Draft {
	return incident.Draft{Type: incident.TypeNote, Payload: incident.Note{Text: text}}
}

func appendOne(s Store, id string, d incident.Draft) (AppendResult, error) {
	return s.Append(context.Background(), AppendRequest{IncidentID: id, Actor: person, Drafts: []incident.Draft{d}})
}

func TestAppendAndRead(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	defer s.Close()
	ctx := context.Background()
	id := declare(t, s, "Checkout failing")
	res, err := s.Append(ctx, AppendRequest{IncidentID: id, Actor: person, Drafts: []incident.Draft{
		note("one"),
		{Type: incident.TypeStatusChanged, Payload: incident.StatusChanged{Status: incident.StatusMitigating}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 2 || res.Events[0].Seq != 2 || res.Events[1].Seq != 3 || res.Events[1].Pos <= res.Events[0].Pos {
		t.Fatalf("seqs and positions: %+v", res.Events)
	}
	if res.Headline.Status != incident.StatusMitigating || res.Headline.LastSeq != 3 || res.Headline.Number != 1 {
		t.Fatalf("headline: %+v", res.Headline)
	}
	evs, err := s.Events(ctx, id, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Payload.(incident.Note).Text != "one" || evs[0].Actor != person {
		t.Fatalf("events after seq 1: %+v", evs)
	}
	page, _ := s.Events(ctx, id, 0, 1)
	if len(page) != 1 || page[0].Type != incident.TypeDeclared {
		t.Fatalf("first page: %+v", page)
	}
	h, err := s.Incident(ctx, id)
	if err != nil || h != res.Headline {
		t.Fatalf("stored headline %+v (%v) differs from the append's %+v", h, err, res.Headline)
	}
	if _, err := s.Incident(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown incident: %v", err)
	}
	second := declare(t, s, "Search slow")
	list, err := s.Incidents(ctx, Filter{Open: true})
	if err != nil || len(list) != 2 || list[0].ID != second || list[0].Number != 2 {
		t.Fatalf("list: %+v %v", list, err)
	}
	if l, _ := s.Incidents(ctx, Filter{Statuses: []incident.Status{incident.StatusMitigating}}); len(l) != 1 || l[0].ID != id {
		t.Fatalf("filter by status: %+v", l)
	}
	if l, _ := s.Incidents(ctx, Filter{Query: "search"}); len(l) != 1 || l[0].ID != second {
		t.Fatalf("filter by title: %+v", l)
	}
	if l, _ := s.Incidents(ctx, Filter{Query: "%"}); len(l) != 0 {
		t.Fatalf("LIKE wildcards must be literal: %+v", l)
	}
	changed, _ := s.ChangedSince(ctx, res.Events[1].Pos)
	if len(changed) != 1 || changed[0].ID != second {
		t.Fatalf("changed since: %+v", changed)
	}
}

func TestRefusedAppendsWriteNothing(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	defer s.Close()
	ctx := context.Background()
	id := declare(t, s, "x")
	seq := int64(1)
	stale := int64(0)
	cases := []struct {
		name  string
		req   AppendRequest
		check func(error) bool
	}{
		{"unknown incident", AppendRequest{IncidentID: "nope", Drafts: []incident.Draft{note("a")}}, func(e error) bool { return errors.Is(e, ErrNotFound) }},
		{"declare existing", AppendRequest{IncidentID: id, Create: true, Drafts: []incident.Draft{{Type: incident.TypeDeclared, Payload: incident.Declared{Title: "t", Severity: "SEV1"}}}}, func(e error) bool { return errors.Is(e, ErrExists) }},
		{"create without declared", AppendRequest{IncidentID: "new", Create: true, Drafts: []incident.Draft{note("a")}}, func(e error) bool { return strings.Contains(e.Error(), "events[0].type") }},
		{"stale expected seq", AppendRequest{IncidentID: id, ExpectedSeq: &stale, Drafts: []incident.Draft{note("a")}}, func(e error) bool {
			var c *SeqConflict
			return errors.As(e, &c) && c.Current == 1
		}},
		{"second event invalid", AppendRequest{IncidentID: id, ExpectedSeq: &seq, Drafts: []incident.Draft{note("fine"),
			{Type: incident.TypeStatusChanged, Payload: incident.StatusChanged{Status: incident.StatusClosed}}}}, func(e error) bool {
			return errors.Is(e, incident.ErrConflict) && strings.Contains(e.Error(), "events[1].payload.status")
		}},
		{"future occurred_at", AppendRequest{IncidentID: id, Drafts: []incident.Draft{{Type: incident.TypeNote, Payload: incident.Note{Text: "x"}, OccurredAt: time.Now().Add(time.Hour)}}}, func(e error) bool {
			return strings.Contains(e.Error(), "events[0].occurred_at")
		}},
		{"no events", AppendRequest{IncidentID: id}, func(e error) bool { return strings.Contains(e.Error(), "at least one") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Actor = person
			_, err := s.Append(ctx, tc.req)
			if err == nil || !tc.check(err) {
				t.Fatalf("got %v", err)
			}
			evs, _ := s.Events(ctx, id, 0, 0)
			if len(evs) != 1 {
				t.Fatalf("a refused append wrote %d events", len(evs)-1)
			}
		})
	}
	// The cached state was not disturbed: the next append gets seq 2.
	res, err := appendOne(s, id, note("after"))
	if err != nil || res.Events[0].Seq != 2 {
		t.Fatalf("after refusals: %+v %v", res, err)
	}
}

func TestRetryWithSameIDIsIdempotent(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	defer s.Close()
	id := declare(t, s, "x")
	d := note("once")
	d.ID = uuid.Must(uuid.NewV7()).String()
	first, err := appendOne(s, id, d)
	if err != nil {
		t.Fatal(err)
	}
	again, err := appendOne(s, id, d)
	if err != nil || !again.Replayed || again.Events[0].Seq != first.Events[0].Seq || again.Events[0].RecordedAt != first.Events[0].RecordedAt {
		t.Fatalf("retry: %+v %v", again, err)
	}
	other := declare(t, s, "y")
	var ic *IDConflict
	if _, err := appendOne(s, other, d); !errors.As(err, &ic) {
		t.Fatalf("an id used by another incident must conflict: %v", err)
	}
	if evs, _ := s.Events(context.Background(), id, 0, 0); len(evs) != 2 {
		t.Fatalf("events stored: %d", len(evs))
	}
}

func TestConcurrentAppendsGetContiguousSeqs(t *testing.T) {
	var mu sync.Mutex
	var published []Committed
	s := open(t, t.TempDir(), Options{OnCommit: func(c []Committed) {
		mu.Lock()
		published = append(published, c...)
		mu.Unlock()
	}})
	defer s.Close()
	ids := []string{declare(t, s, "a"), declare(t, s, "b")}
	const writers, each = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := appendOne(s, ids[w%2], note(fmt.Sprintf("w%d-%d", w, i))); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var lastPos int64
	for _, id := range ids {
		evs, err := s.Events(context.Background(), id, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1+writers/2*each {
			t.Fatalf("%s has %d events", id, len(evs))
		}
		for i, ev := range evs {
			if ev.Seq != int64(i+1) {
				t.Fatalf("seq %d at index %d", ev.Seq, i)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(published) != writers*each+len(ids) { // the declarations too
		t.Fatalf("published %d of %d", len(published), writers*each+len(ids))
	}
	for _, c := range published {
		if c.Event.Pos <= lastPos {
			t.Fatalf("published out of commit order: pos %d after %d", c.Event.Pos, lastPos)
		}
		lastPos = c.Event.Pos
	}
}

func TestLogIsAppendOnly(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	defer s.Close()
	declare(t, s, "x")
	for _, q := range []string{"UPDATE events SET type = 'note.added'", "DELETE FROM events"} {
		if _, err := s.write.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", q, err)
		}
	}
}

func TestReopenKeepsEverythingAndNumbers(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	id := declare(t, s, "x")
	if _, err := appendOne(s, id, note("kept")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := appendOne(s, id, note("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	s = open(t, dir, Options{})
	defer s.Close()
	res, err := appendOne(s, id, note("after reopen"))
	if err != nil || res.Events[0].Seq != 3 {
		t.Fatalf("append after reopen: %+v %v", res, err)
	}
	if other := declare(t, s, "y"); other == "" {
		t.Fatal("no id")
	}
	if l, _ := s.Incidents(context.Background(), Filter{}); len(l) != 2 || l[0].Number != 2 {
		t.Fatalf("numbers continue after reopen: %+v", l)
	}
}

// TestUncleanShutdownLosesNoAcknowledgedAppend runs a child process that appends as fast as it can
// and prints each acknowledged seq, kills it with SIGKILL mid-stream, reopens the database and
// checks that every acknowledged event is there and the log has no gaps.
func TestUncleanShutdownLosesNoAcknowledgedAppend(t *testing.T) {
	if os.Getenv("SEXTANT_CRASH_CHILD") != "" {
		crashChild()
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestUncleanShutdownLosesNoAcknowledgedAppend$")
	cmd.Env = append(os.Environ(), "SEXTANT_CRASH_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]int64{} // incident id → highest acknowledged seq
	n := 0
	sc := bufio.NewScanner(out)
	for n < 300 && sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "ack" {
			seq, _ := strconv.ParseInt(f[2], 10, 64)
			acked[f[1]] = max(acked[f[1]], seq)
			n++
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if n < 300 {
		t.Fatalf("child acknowledged only %d appends", n)
	}
	s := open(t, dir, Options{})
	defer s.Close()
	for id, seq := range acked {
		evs, err := s.Events(context.Background(), id, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(evs)) < seq {
			t.Fatalf("incident %s: seq %d was acknowledged, only %d events survived", id, seq, len(evs))
		}
		for i, ev := range evs {
			if ev.Seq != int64(i+1) {
				t.Fatalf("gap: seq %d at index %d", ev.Seq, i)
			}
		}
		h, _ := s.Incident(context.Background(), id)
		if h.LastSeq != int64(len(evs)) {
			t.Fatalf("index says last seq %d, log has %d", h.LastSeq, len(evs))
		}
	}
}

func crashChild() {
	s, err := OpenSQLite(context.Background(), os.Getenv("SEXTANT_CRASH_CHILD"), Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	id := uuid.Must(uuid.NewV7()).String()
	_, err = s.Append(context.Background(), AppendRequest{IncidentID: id, Create: true, Actor: person,
		Drafts: []incident.Draft{{Type: incident.TypeDeclared, Payload: incident.Declared{Title: "crash", Severity: "SEV3"}}}})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	for w := range 4 {
		go func() {
			for i := 0; ; i++ {
				res, err := appendOne(s, id, note(fmt.Sprintf("%d-%d", w, i)))
				if err != nil {
					continue
				}
				mu.Lock()
				fmt.Printf("ack %s %d\n", id, res.Events[0].Seq)
				mu.Unlock()
			}
		}()
	}
	select {}
}

func TestTokensAndSessions(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	secret, tok, err := auth.IssueToken(ctx, s, "t1", "ci-bot", auth.Responder, incident.ActorIntegration, now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.TokenByHash(ctx, auth.Hash(secret))
	if err != nil || got.ID != tok.ID || got.Role != auth.Responder || got.Kind != incident.ActorIntegration {
		t.Fatalf("token by hash: %+v %v", got, err)
	}
	sess := auth.Session{Hash: auth.Hash("cookie"), TokenID: tok.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if _, st, err := s.SessionByHash(ctx, sess.Hash, now); err != nil || st.ID != tok.ID {
		t.Fatalf("session: %v", err)
	}
	if _, _, err := s.SessionByHash(ctx, sess.Hash, now.Add(2*time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired session: %v", err)
	}
	if err := s.RevokeToken(ctx, tok.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenByHash(ctx, auth.Hash(secret)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoked token still valid: %v", err)
	}
	if _, _, err := s.SessionByHash(ctx, sess.Hash, now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session of a revoked token still valid: %v", err)
	}
	if err := s.RevokeToken(ctx, tok.ID, now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoke twice: %v", err)
	}
}
