package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/sextant-sre/sextant/internal/changes"
)

type changesReport struct {
	// Stored lists the ids of changes stored now; Duplicates those already stored before.
	Stored     []string `json:"stored"`
	Duplicates []string `json:"duplicates"`
	// Ignored says why a delivery carried no change (a ping, a non-flag audit entry).
	Ignored string `json:"ignored,omitempty"`
}

// record stores validated changes; each is stored once however often it is delivered.
func (s *Server) record(w http.ResponseWriter, r *http.Request, cs ...changes.Change) {
	rep := changesReport{Stored: []string{}, Duplicates: []string{}}
	for _, c := range cs {
		fresh, err := s.Store.RecordChange(r.Context(), c, s.Now())
		if err != nil {
			writeError(w, r, s.Logger, err)
			return
		}
		if fresh {
			rep.Stored = append(rep.Stored, c.ID)
		} else {
			rep.Duplicates = append(rep.Duplicates, c.ID)
		}
	}
	s.Logger.InfoContext(r.Context(), "changes received", "stored", len(rep.Stored), "duplicates", len(rep.Duplicates))
	writeJSON(w, http.StatusOK, rep)
}

func changeError(err error) error {
	return &apiError{status: http.StatusUnprocessableEntity, body: errorBody{Error: "invalid change", Detail: err.Error()}}
}

// intakeChanges takes Sextant's own change format: one change, or {"changes": [...]}. All are
// checked before any is stored.
func (s *Server) intakeChanges(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	// A body with a top-level "changes" array is a batch; anything else is one change.
	var fields map[string]json.RawMessage
	raws := []json.RawMessage{body}
	if json.Unmarshal(body, &fields) == nil && fields["changes"] != nil {
		if err := json.Unmarshal(fields["changes"], &raws); err != nil || len(fields) != 1 {
			writeError(w, r, s.Logger, badRequest("changes", "a batch is {\"changes\": [...]} and nothing else"))
			return
		}
	}
	if len(raws) == 0 || len(raws) > 1000 {
		writeError(w, r, s.Logger, badRequest("changes", "give from 1 to 1000 changes"))
		return
	}
	cs := make([]changes.Change, len(raws))
	for i, raw := range raws {
		if cs[i], err = changes.FromPlain(raw, s.Now()); err != nil {
			if len(raws) > 1 {
				err = fmt.Errorf("changes[%d].%w", i, err)
			}
			writeError(w, r, s.Logger, changeError(err))
			return
		}
	}
	s.record(w, r, cs...)
}

// intakeCloudEvent takes one CloudEvent in binary or structured mode carrying a CDEvent.
func (s *Server) intakeCloudEvent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.Config.MaxBodyBytes)
	ev, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, r, s.Logger, mbe)
			return
		}
		writeError(w, r, s.Logger, badRequest("", "not a CloudEvent (binary or structured mode): %v", err))
		return
	}
	if err := ev.Validate(); err != nil {
		writeError(w, r, s.Logger, badRequest("", "CloudEvent: %v", err))
		return
	}
	c, err := changes.FromCDEvent(ev.ID(), ev.Type(), ev.Time(), ev.Data())
	if err != nil {
		writeError(w, r, s.Logger, changeError(err))
		return
	}
	s.record(w, r, c)
}

// signedBody reads a webhook body for signature checking.
func (s *Server) signedBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.Config.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, mbe
		}
		return nil, badRequest("", "reading the body: %v", err)
	}
	return body, nil
}

func unsigned(err error) error {
	return &apiError{status: http.StatusUnauthorized, body: errorBody{Error: "signature refused", Detail: err.Error()}}
}

// intakeGitHub takes GitHub webhooks, authenticated by their HMAC signature.
func (s *Server) intakeGitHub(w http.ResponseWriter, r *http.Request) {
	body, err := s.signedBody(w, r)
	if err == nil {
		if err = changes.VerifyGitHub(r.Header.Get("X-Hub-Signature-256"), body, []byte(s.Config.GitHubWebhookSecret)); err != nil {
			err = unsigned(err)
		}
	}
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	c, ok, err := changes.FromGitHub(r.Header.Get("X-GitHub-Event"), body)
	switch {
	case err != nil:
		writeError(w, r, s.Logger, changeError(err))
	case !ok:
		writeJSON(w, http.StatusOK, changesReport{Stored: []string{}, Duplicates: []string{}, Ignored: "event " + r.Header.Get("X-GitHub-Event") + " carries no change"})
	default:
		s.record(w, r, c)
	}
}

// intakeLaunchDarkly takes LaunchDarkly webhooks, authenticated by X-LD-Signature.
func (s *Server) intakeLaunchDarkly(w http.ResponseWriter, r *http.Request) {
	body, err := s.signedBody(w, r)
	if err == nil {
		if err = changes.VerifyLaunchDarkly(r.Header.Get("X-LD-Signature"), body, []byte(s.Config.LaunchDarklyWebhookSecret)); err != nil {
			err = unsigned(err)
		}
	}
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	c, ok, err := changes.FromLaunchDarkly(body)
	switch {
	case err != nil:
		writeError(w, r, s.Logger, changeError(err))
	case !ok:
		writeJSON(w, http.StatusOK, changesReport{Stored: []string{}, Duplicates: []string{}, Ignored: "not a flag change"})
	default:
		s.record(w, r, c)
	}
}

// intakeUnleash takes Unleash webhook-addon events (the addon sends the token as Authorization).
func (s *Server) intakeUnleash(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	c, ok, err := changes.FromUnleash(body)
	switch {
	case err != nil:
		writeError(w, r, s.Logger, changeError(err))
	case !ok:
		writeJSON(w, http.StatusOK, changesReport{Stored: []string{}, Duplicates: []string{}, Ignored: "not a feature event"})
	default:
		s.record(w, r, c)
	}
}

// listChanges answers GET /api/changes: changes in a window (default the last 24 hours).
func (s *Server) listChanges(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := changes.Filter{End: s.Now(), Service: q.Get("service"), Environment: q.Get("environment")}
	f.Start = f.End.Add(-24 * time.Hour)
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.Start}, {"to", &f.End}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				writeError(w, r, s.Logger, badRequest(p.name, "%q is not an RFC 3339 time", v))
				return
			}
			*p.dst = t
		}
	}
	var err error
	if f.Kinds, err = enumParam(q, "kind", changes.Kinds); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	if f.Limit, err = intParam(q.Get("limit"), "limit", 500, 5000); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	list, err := s.Store.Changes(r.Context(), f)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	if q.Get("raw") != "true" {
		for i := range list {
			list[i].Raw = nil
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": list, "from": f.Start, "to": f.End})
}
