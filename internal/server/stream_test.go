package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/incident"
)

// sseEvent is one Server-Sent Event as a client sees it.
type sseEvent struct {
	ID    int64
	Event string
	Data  string
}

// sseClient reads a live stream the way EventSource does.
type sseClient struct {
	cancel context.CancelFunc
	events chan sseEvent
	status int
}

func (e *testEnv) subscribe(t testing.TB, path string, role auth.Role, lastEventID string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.http.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	c := &sseClient{cancel: cancel, events: make(chan sseEvent, 4096), status: res.StatusCode}
	go func() {
		defer res.Body.Close()
		defer close(c.events)
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Event != "" {
					c.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.ID, _ = strconv.ParseInt(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				ev.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data = line[6:]
			}
		}
	}()
	return c
}

// next waits for the next event.
func (c *sseClient) next(t testing.TB) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-c.events:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return sseEvent{}
}

// quiet checks that nothing more arrives for a moment (nothing is sent twice).
func (c *sseClient) quiet(t testing.TB) {
	t.Helper()
	select {
	case ev, ok := <-c.events:
		if ok {
			t.Fatalf("unexpected extra event %+v", ev)
		}
	case <-time.After(150 * time.Millisecond):
	}
}

func (e *testEnv) note(id, text string) incident.Event {
	e.t.Helper()
	var res appendResponse
	code, raw := e.do("POST", "/api/incidents/"+id+"/events", auth.Responder, map[string]any{"type": "note.added", "payload": map[string]any{"text": text}}, &res)
	if code != 201 {
		e.t.Fatalf("append: %d %s", code, raw)
	}
	return res.Events[0].Event
}

func TestIncidentStreamResumesWithoutLossOrDuplicates(t *testing.T) {
	e := newEnv(t)
	id := e.declare("x")
	for i := range 3 {
		e.note(id, fmt.Sprintf("before %d", i))
	}
	c := e.subscribe(t, "/api/incidents/"+id+"/stream?after_seq=0", auth.Viewer, "")
	if c.status != 200 {
		t.Fatalf("status %d", c.status)
	}
	for want := int64(1); want <= 4; want++ {
		ev := c.next(t)
		var got incident.Event
		if err := json.Unmarshal([]byte(ev.Data), &got); err != nil {
			t.Fatal(err)
		}
		if ev.ID != want || got.Seq != want || ev.Event != "event" {
			t.Fatalf("backlog: id %d seq %d, want %d", ev.ID, got.Seq, want)
		}
	}
	e.note(id, "live")
	if ev := c.next(t); ev.ID != 5 || !strings.Contains(ev.Data, `"text":"live"`) {
		t.Fatalf("live: %+v", ev)
	}
	c.cancel()

	// Events appended while disconnected are delivered on reconnect, then live ones, once each.
	e.note(id, "while away 1")
	e.note(id, "while away 2")
	c2 := e.subscribe(t, "/api/incidents/"+id+"/stream?after_seq=0", auth.Viewer, "5")
	defer c2.cancel()
	for want := int64(6); want <= 7; want++ {
		if ev := c2.next(t); ev.ID != want {
			t.Fatalf("resumed: id %d, want %d", ev.ID, want)
		}
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() { defer wg.Done(); e.note(id, fmt.Sprintf("burst %d", i)) }()
	}
	wg.Wait()
	for want := int64(8); want <= 27; want++ {
		if ev := c2.next(t); ev.ID != want {
			t.Fatalf("burst: id %d, want %d", ev.ID, want)
		}
	}
	c2.quiet(t)
}

func TestListStreamResumesByPosition(t *testing.T) {
	e := newEnv(t)
	a := e.declare("a")
	var list listResponse
	e.do("GET", "/api/incidents", auth.Viewer, nil, &list)
	c := e.subscribe(t, fmt.Sprintf("/api/stream?after_pos=%d", list.LastPos), auth.Viewer, "")
	b := e.declare("b")
	ev := c.next(t)
	var h incident.Headline
	json.Unmarshal([]byte(ev.Data), &h)
	if ev.Event != "incident" || h.ID != b || h.Title != "b" {
		t.Fatalf("list stream: %+v", ev)
	}
	c.cancel()
	last := ev.ID
	e.note(a, "while away")
	c2 := e.subscribe(t, "/api/stream", auth.Viewer, strconv.FormatInt(last, 10))
	defer c2.cancel()
	ev = c2.next(t)
	json.Unmarshal([]byte(ev.Data), &h)
	if h.ID != a || h.LastSeq != 2 {
		t.Fatalf("resumed list stream: %+v", ev)
	}
	c2.quiet(t)
}

func TestStreamErrors(t *testing.T) {
	e := newEnv(t)
	if c := e.subscribe(t, "/api/incidents/nope/stream", auth.Viewer, ""); c.status != 404 {
		t.Fatalf("unknown incident: %d", c.status)
	}
	id := e.declare("x")
	if c := e.subscribe(t, "/api/incidents/"+id+"/stream", auth.Viewer, "abc"); c.status != 400 {
		t.Fatalf("bad Last-Event-ID: %d", c.status)
	}
}

// TestShutdownEndsStreams checks that closing the server ends live streams, so that a graceful
// shutdown does not hang on them.
func TestShutdownEndsStreams(t *testing.T) {
	e := newEnv(t)
	id := e.declare("x")
	c := e.subscribe(t, "/api/incidents/"+id+"/stream", auth.Viewer, "")
	c.next(t)
	e.srv.Close()
	select {
	case _, ok := <-c.events:
		if ok {
			t.Fatal("an event after close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open after Close")
	}
}
