package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/incident"
)

const sessionCookie = "sextant_session"

// authenticate resolves the request's principal from a bearer token or a session cookie. It does
// not refuse anything itself: require does, per route. A credential that is present but invalid
// is refused at once, so a client learns that its token is wrong rather than that it is a
// viewer-less guest.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok, err := s.principal(r)
		if err != nil {
			writeError(w, r, s.Logger, err)
			return
		}
		if ok {
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

var errBadCredentials = &apiError{status: http.StatusUnauthorized, body: errorBody{Error: "unauthenticated", Detail: "the token or session is unknown, revoked or expired"}}

func (s *Server) principal(r *http.Request) (auth.Principal, bool, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		secret, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || !auth.LooksLikeSecret(secret) {
			return auth.Principal{}, false, &apiError{status: http.StatusUnauthorized, body: errorBody{Error: "unauthenticated", Detail: "Authorization must be \"Bearer sxt_…\""}}
		}
		t, err := s.Store.TokenByHash(r.Context(), auth.Hash(secret))
		if errors.Is(err, auth.ErrNotFound) {
			return auth.Principal{}, false, errBadCredentials
		}
		if err != nil {
			return auth.Principal{}, false, err
		}
		return auth.Principal{TokenID: t.ID, Name: t.Name, Role: t.Role, Kind: t.Kind}, true, nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return auth.Principal{}, false, nil
	}
	if !auth.LooksLikeSecret(c.Value) {
		return auth.Principal{}, false, nil // a stale or foreign cookie: treat as logged out
	}
	_, t, err := s.Store.SessionByHash(r.Context(), auth.Hash(c.Value), s.Now())
	if errors.Is(err, auth.ErrNotFound) {
		return auth.Principal{}, false, nil
	}
	if err != nil {
		return auth.Principal{}, false, err
	}
	return auth.Principal{TokenID: t.ID, Name: t.Name, Role: t.Role, Kind: t.Kind, Session: true}, true, nil
}

// require refuses requests whose principal lacks the role: 401 when unauthenticated, 403 when
// the role is too low.
func (s *Server) require(role auth.Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.FromContext(r.Context())
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sextant"`)
			writeJSON(w, http.StatusUnauthorized, errorBody{Error: "unauthenticated", Detail: "send Authorization: Bearer <token>, or log in"})
			return
		}
		if !p.Role.Allows(role) {
			writeJSON(w, http.StatusForbidden, errorBody{Error: "forbidden", Detail: "this needs the " + string(role) + " role; the token has " + string(p.Role)})
			return
		}
		next.ServeHTTP(w, r)
	})
}

type loginRequest struct {
	Token string `json:"token"`
}

type meResponse struct {
	Name    string    `json:"name"`
	Role    auth.Role `json:"role"`
	Kind    string    `json:"kind"`
	TokenID string    `json:"token_id"`
	Session bool      `json:"session"`
}

func meOf(p auth.Principal) meResponse {
	return meResponse{Name: p.Name, Role: p.Role, Kind: string(p.Kind), TokenID: p.TokenID, Session: p.Session}
}

// login exchanges an API token for a browser session cookie.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := s.readJSON(w, r, &req); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	if !auth.LooksLikeSecret(req.Token) {
		writeError(w, r, s.Logger, &apiError{status: http.StatusUnauthorized, body: errorBody{Error: "unauthenticated", Detail: "that is not a Sextant token", Field: "token"}})
		return
	}
	t, err := s.Store.TokenByHash(r.Context(), auth.Hash(req.Token))
	if errors.Is(err, auth.ErrNotFound) {
		writeError(w, r, s.Logger, errBadCredentials)
		return
	}
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	secret, hash := auth.NewSecret()
	now := s.Now()
	if err := s.Store.CreateSession(r.Context(), auth.Session{Hash: hash, TokenID: t.ID, CreatedAt: now, ExpiresAt: now.Add(s.Config.SessionTTL)}); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.Config.CookieSecure || r.TLS != nil, MaxAge: int(s.Config.SessionTTL.Seconds())})
	s.Logger.InfoContext(r.Context(), "session started", "token", t.Name, "role", t.Role)
	writeJSON(w, http.StatusOK, meOf(auth.Principal{TokenID: t.ID, Name: t.Name, Role: t.Role, Kind: t.Kind, Session: true}))
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.Store.DeleteSession(r.Context(), auth.Hash(c.Value)); err != nil {
			writeError(w, r, s.Logger, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	writeJSON(w, http.StatusOK, meOf(p))
}

// Token administration.

type createTokenRequest struct {
	Name string             `json:"name"`
	Role auth.Role          `json:"role"`
	Kind incident.ActorKind `json:"kind,omitempty"`
}

type createTokenResponse struct {
	auth.Token
	// Secret is shown once and never again.
	Secret string `json:"secret"`
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := s.Store.ListTokens(r.Context())
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": ts})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var req createTokenRequest
	if err := s.readJSON(w, r, &req); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	if _, err := auth.ParseRole(string(req.Role)); err != nil {
		writeError(w, r, s.Logger, badRequest("role", "%v", err))
		return
	}
	secret, t, err := auth.IssueToken(r.Context(), s.Store, uuid.Must(uuid.NewV7()).String(), req.Name, req.Role, req.Kind, s.Now())
	if err != nil {
		writeError(w, r, s.Logger, badRequest("", "%v", err))
		return
	}
	p, _ := auth.FromContext(r.Context())
	s.Logger.InfoContext(r.Context(), "token created", "name", t.Name, "role", t.Role, "by", p.Name)
	writeJSON(w, http.StatusCreated, createTokenResponse{Token: t, Secret: secret})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.Store.RevokeToken(r.Context(), id, s.Now()); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			err = &apiError{status: http.StatusNotFound, body: errorBody{Error: "not found", Detail: "no active token " + id}}
		}
		writeError(w, r, s.Logger, err)
		return
	}
	p, _ := auth.FromContext(r.Context())
	s.Logger.InfoContext(r.Context(), "token revoked", "id", id, "by", p.Name)
	w.WriteHeader(http.StatusNoContent)
}

// getConfig shows the effective settings and where each came from; secrets show only whether
// they are set.
func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) {
	c := s.Config
	writeJSON(w, http.StatusOK, map[string]any{
		"settings": map[string]any{
			"listen": c.Listen, "data-dir": c.DataDir, "log-level": c.LogLevel, "log-format": c.LogFormat,
			"max-body-bytes": c.MaxBodyBytes, "session-ttl": c.SessionTTL.String(), "shutdown-timeout": c.ShutdownTimeout.String(),
			"cookie-secure": c.CookieSecure, "public-url": c.PublicURL, "config": c.ConfigFile,
			"metrics-retention": c.MetricsRetention.String(), "metrics-ooo-window": c.MetricsOOOWindow.String(), "log-retention": c.LogRetention.String(), "span-window": c.SpanWindow.String(), "max-intake-bytes": c.MaxIntakeBytes, "alert-routes": c.AlertRoutes, "otlp-grpc-listen": c.OTLPGRPCListen, "remote-sources": c.RemoteSources,
			"github-webhook-secret": redacted(c.GitHubWebhookSecret), "launchdarkly-webhook-secret": redacted(c.LaunchDarklyWebhookSecret),
		},
		"origin": s.Origin,
	})
}

func redacted(secret string) string {
	if secret == "" {
		return ""
	}
	return "(set)"
}
