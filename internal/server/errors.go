package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"

	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/store"
)

// errorBody is every error response: what went wrong, in detail, and the field at fault.
type errorBody struct {
	Error  string `json:"error"`
	Detail string `json:"detail,omitempty"`
	Field  string `json:"field,omitempty"`
	// CurrentSeq is set on a sequence conflict, so the client can re-read and retry.
	CurrentSeq *int64 `json:"current_seq,omitempty"`
}

// apiError is an error with its HTTP answer decided.
type apiError struct {
	status int
	body   errorBody
}

func (e *apiError) Error() string { return e.body.Error + ": " + e.body.Detail }

func badRequest(field, format string, args ...any) error {
	detail := fmt.Sprintf(format, args...)
	if field != "" {
		detail = field + ": " + detail
	}
	return &apiError{status: http.StatusBadRequest, body: errorBody{Error: "invalid request", Detail: detail, Field: field}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError answers with the status and JSON body that err calls for. Unexpected errors are
// logged and answered with a 500 that reveals nothing.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var (
		ae  *apiError
		fe  *incident.FieldError
		se  *incident.StateError
		sc  *store.SeqConflict
		ic  *store.IDConflict
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
		writeJSON(w, ae.status, ae.body)
	case errors.As(err, &mbe):
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: "request body too large", Detail: fmt.Sprintf("the limit is %d bytes", mbe.Limit)})
	case errors.As(err, &fe):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{Error: "invalid request", Detail: fe.Error(), Field: fe.Field})
	case errors.As(err, &se):
		writeJSON(w, http.StatusConflict, errorBody{Error: "conflicts with the incident's state", Detail: se.Error(), Field: se.Field})
	case errors.As(err, &sc):
		writeJSON(w, http.StatusConflict, errorBody{Error: "sequence conflict", Detail: sc.Error(), Field: "expected_seq", CurrentSeq: &sc.Current})
	case errors.As(err, &ic):
		writeJSON(w, http.StatusConflict, errorBody{Error: "id conflict", Detail: ic.Error(), Field: fmt.Sprintf("events[%d].id", ic.Index)})
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, errorBody{Error: "not found", Detail: "no incident " + r.PathValue("id")})
	case errors.Is(err, store.ErrExists):
		writeJSON(w, http.StatusConflict, errorBody{Error: "incident already exists", Field: "id"})
	case errors.Is(err, store.ErrClosed):
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "shutting down", Detail: "retry against another replica or after restart"})
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "request cancelled or timed out"})
	default:
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error", Detail: "see the server log"})
	}
}

// readJSON reads a JSON request body (at most the configured size) and decodes it strictly into
// v, so that a misspelt field is an error rather than silently ignored.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	raw, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if err := incident.DecodeJSON(raw, v); err != nil {
		return asBadJSON(err)
	}
	return nil
}

func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, &apiError{status: http.StatusUnsupportedMediaType, body: errorBody{Error: "unsupported content type", Detail: "send the body as application/json"}}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.Config.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, badRequest("", "reading the body: %v", err)
	}
	return raw, nil
}

// asBadJSON makes malformed JSON a 400 and a well-formed body with wrong fields a 422.
func asBadJSON(err error) error {
	var fe *incident.FieldError
	if errors.As(err, &fe) && fe.Field == "" {
		return &apiError{status: http.StatusBadRequest, body: errorBody{Error: "malformed JSON", Detail: fe.Msg}}
	}
	return err
}
