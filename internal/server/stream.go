package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/store"
)

// Live streams are Server-Sent Events. Each event's SSE id is its position in the stream (the
// incident's seq, or the log's pos for the list), so a client that reconnects with Last-Event-ID
// resumes exactly after the last event it saw: it misses nothing and sees nothing twice.

const (
	streamBuffer   = 1024 // events a subscriber may lag behind before it is cut off (and resumes)
	keepAliveEvery = 15 * time.Second
)

type sseWriter struct {
	w http.ResponseWriter
	f *http.ResponseController
}

func startSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // tell proxies not to buffer the stream
	w.WriteHeader(http.StatusOK)
	s := &sseWriter{w: w, f: http.NewResponseController(w)}
	fmt.Fprint(w, "retry: 1000\n\n")
	_ = s.f.Flush()
	return s
}

func (s *sseWriter) send(id int64, event string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.w, "id: %d\nevent: %s\ndata: %s\n\n", id, event, data); err != nil {
		return err
	}
	return s.f.Flush()
}

// news sends an event without an id: passing news (a run's progress) that a client resuming
// after the last event it saw neither needs nor could be given again.
func (s *sseWriter) news(event string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", event, data); err != nil {
		return err
	}
	return s.f.Flush()
}

func (s *sseWriter) comment(text string) error {
	if _, err := fmt.Fprintf(s.w, ": %s\n\n", text); err != nil {
		return err
	}
	return s.f.Flush()
}

// resumeFrom reads where a client resumes: Last-Event-ID (sent by browsers on reconnect) wins over
// the query parameter (used on the first connect).
func resumeFrom(r *http.Request, param string) (int64, error) {
	v := r.Header.Get("Last-Event-ID")
	name := "Last-Event-ID"
	if v == "" {
		v, name = r.URL.Query().Get(param), param
	}
	if v == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest(name, "%q is not a non-negative integer", v)
	}
	return n, nil
}

// incidentStream streams an incident's events: first those after the resume point, then live.
// Without a resume point it starts from the beginning of the log.
func (s *Server) incidentStream(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	after, err := resumeFrom(r, "after_seq")
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	after = max(after, 0)
	if _, err := s.Store.Incident(r.Context(), id); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	// Subscribe before reading the backlog, so that nothing committed in between is missed;
	// what arrives twice is skipped by seq.
	sub := s.Hub.Subscribe(id, streamBuffer)
	defer s.Hub.Unsubscribe(sub)
	progress, stop := s.runs.watch(id)
	defer stop()
	backlog, err := s.Store.Events(r.Context(), id, after, 0)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	sse := startSSE(w)
	last := after
	for _, ev := range backlog {
		if err := sse.send(ev.Seq, "event", viewOf(ev)); err != nil {
			return
		}
		last = ev.Seq
	}
	if p := s.runs.progress(id); p.Running {
		if err := sse.news("analysis", p); err != nil {
			return
		}
	}
	s.pump(r, sse, sub.C, progress, func(c store.Committed) error {
		if c.Event.Seq <= last {
			return nil
		}
		last = c.Event.Seq
		return sse.send(c.Event.Seq, "event", viewOf(c.Event))
	})
}

// listStream streams incident headlines as incidents change. Without a resume point it starts
// with what changes from now on (pair it with GET /api/incidents and its last_pos).
func (s *Server) listStream(w http.ResponseWriter, r *http.Request) {
	after, err := resumeFrom(r, "after_pos")
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	sub := s.Hub.Subscribe("", streamBuffer)
	defer s.Hub.Unsubscribe(sub)
	var backlog []incident.Headline
	if after < 0 {
		if after, err = s.Store.LastPos(r.Context()); err != nil {
			writeError(w, r, s.Logger, err)
			return
		}
	} else if backlog, err = s.Store.ChangedSince(r.Context(), after); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	sse := startSSE(w)
	last := after
	for _, h := range backlog {
		if err := sse.send(h.LastPos, "incident", h); err != nil {
			return
		}
		last = max(last, h.LastPos)
	}
	s.pump(r, sse, sub.C, nil, func(c store.Committed) error {
		if c.Event.Pos <= last {
			return nil
		}
		last = c.Event.Pos
		return sse.send(c.Event.Pos, "incident", c.Headline)
	})
}

// pump forwards live events, and the analysis progress that arrives if progress is not nil,
// until the client leaves, the server shuts down, or the subscriber is cut off for lagging (the
// client then reconnects and resumes).
func (s *Server) pump(r *http.Request, sse *sseWriter, c <-chan store.Committed, progress <-chan AnalysisProgress, send func(store.Committed) error) {
	tick := time.NewTicker(keepAliveEvery)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		case <-tick.C:
			if sse.comment("keep-alive") != nil {
				return
			}
		case ev, ok := <-c:
			if !ok {
				return
			}
			if send(ev) != nil {
				return
			}
		case p := <-progress:
			if sse.news("analysis", p) != nil {
				return
			}
		}
	}
}
