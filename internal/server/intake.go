package server

import (
	"errors"
	"net/http"

	"github.com/sextant-sre/sextant/internal/alerts"
	"github.com/sextant-sre/sextant/internal/auth"
)

// alertWebhook receives an Alertmanager or Grafana alerting webhook. The answer lists what was
// done with each alert, so an operator can see why an alert declared, attached or was ignored.
func (s *Server) alertWebhook(source string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Alerts == nil {
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "alert intake is not configured"})
			return
		}
		body, err := s.readBody(w, r)
		if err != nil {
			writeError(w, r, s.Logger, err)
			return
		}
		p, _ := auth.FromContext(r.Context())
		rep, err := s.Alerts.Receive(r.Context(), p.Actor(), source, body)
		var bad *alerts.BadPayloadError
		if errors.As(err, &bad) {
			writeError(w, r, s.Logger, badRequest("", "%v", bad.Err))
			return
		}
		if err != nil {
			writeError(w, r, s.Logger, err)
			return
		}
		s.Logger.InfoContext(r.Context(), "alert webhook", "source", source, "alerts", len(rep.Results), "duplicate", rep.Duplicate)
		writeJSON(w, http.StatusOK, rep)
	}
}
