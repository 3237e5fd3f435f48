package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sextant-sre/sextant/internal/auth"
)

// FuzzAPIJSONInput sends arbitrary bodies to the JSON endpoints. Whatever the input, the answer is
// never a server error, an error answer is JSON naming what is wrong, and a refused append writes
// nothing.
func FuzzAPIJSONInput(f *testing.F) {
	for _, s := range []string{
		`{"type":"note.added","payload":{"text":"x"}}`,
		`{"expected_seq":1,"events":[{"type":"observation.recorded","payload":{"text":"x","stale_after":"5m"}}]}`,
		`{"events":[{"type":"hypothesis.status_changed","payload":{"hypothesis":"00000000-0000-7000-8000-000000000001","status":"refuted"}}]}`,
		`{"title":"t","severity":"SEV1","occurred_at":"2026-01-01T00:00:00Z"}`,
		`{"type":"entry.retracted","payload":{"reason":"x"},"refs":{"supersedes":"00000000-0000-7000-8000-000000000001"}}`,
		`{"events":null}`, `{"type":null}`, `[]`, `""`, `{`, `{"id":"x","type":"note.added"}`,
	} {
		f.Add(0, []byte(s))
		f.Add(1, []byte(s))
	}
	e := newEnv(f)
	id := e.declare("fuzz")
	paths := []string{"/api/incidents/" + id + "/events", "/api/incidents", "/api/session"}
	f.Fuzz(func(t *testing.T, target int, body []byte) {
		path := paths[(target%len(paths)+len(paths))%len(paths)]
		before := e.lastPos(t)
		req := httptest.NewRequest("POST", path, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.tokens[auth.Responder])
		rec := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d %s", path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") || !strings.Contains(rec.Body.String(), `"error"`) {
				t.Fatalf("error answer is not a JSON error: %d %s", rec.Code, rec.Body)
			}
			if after := e.lastPos(t); after != before {
				t.Fatalf("a refused request (%d) wrote events", rec.Code)
			}
		}
		if rec.Code == http.StatusCreated && path == paths[1] && !strings.Contains(rec.Body.String(), `"incident"`) {
			t.Fatalf("declare answered 201 without the incident: %s", rec.Body)
		}
	})
}

func (e *testEnv) lastPos(t testing.TB) int64 {
	pos, err := e.store.LastPos(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return pos
}
