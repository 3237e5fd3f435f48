// Package auth owns who may do what: roles, API tokens (stored only as hashes), browser sessions,
// and the principal a request acts as.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sextant-sre/sextant/internal/incident"
)

// Role is what a principal may do. Roles are ordered: each includes the ones below it.
type Role string

const (
	// Viewer reads incidents, events and streams.
	Viewer Role = "viewer"
	// Responder also appends events and declares incidents.
	Responder Role = "responder"
	// Admin also manages tokens and reads the configuration.
	Admin Role = "admin"
)

// Roles lists the roles from least to most privileged.
var Roles = []Role{Viewer, Responder, Admin}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q: want viewer, responder or admin", s)
}

func (r Role) rank() int {
	for i, x := range Roles {
		if x == r {
			return i
		}
	}
	return -1
}

// Allows reports whether a principal with role r may do what needs role need.
func (r Role) Allows(need Role) bool { return r.rank() >= need.rank() && need.rank() >= 0 }

// Token is an API token as stored: the secret itself is never kept, only its SHA-256.
type Token struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Kind is the actor kind that events written with this token carry (a person, an
	// integration, an analyzer or an AI tool).
	Kind      incident.ActorKind `json:"kind"`
	Hash      []byte             `json:"-"`
	CreatedAt time.Time          `json:"created_at"`
	RevokedAt time.Time          `json:"revoked_at,omitzero"`
}

// Session is a browser session made by exchanging a token; the cookie holds the secret, the store
// its hash.
type Session struct {
	Hash      []byte
	TokenID   string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store persists tokens and sessions.
type Store interface {
	CreateToken(ctx context.Context, t Token) error
	// TokenByHash returns a token that is not revoked, or ErrNotFound.
	TokenByHash(ctx context.Context, hash []byte) (Token, error)
	TokenByID(ctx context.Context, id string) (Token, error)
	ListTokens(ctx context.Context) ([]Token, error)
	RevokeToken(ctx context.Context, id string, at time.Time) error
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns an unexpired session whose token is not revoked, with its token.
	SessionByHash(ctx context.Context, hash []byte, now time.Time) (Session, Token, error)
	DeleteSession(ctx context.Context, hash []byte) error
}

// ErrNotFound is returned for an unknown, revoked or expired credential.
var ErrNotFound = errors.New("not found")

// tokenPrefix marks Sextant secrets, so that secret scanners can find leaked ones.
const tokenPrefix = "sxt_"

// NewSecret returns a fresh random secret and its hash.
func NewSecret() (secret string, hash []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	secret = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, Hash(secret)
}

// Hash is the stored form of a secret. Secrets carry 256 random bits, so a plain SHA-256 is
// enough: there is nothing to brute-force.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// LooksLikeSecret reports whether s has the shape of a Sextant secret, to reject junk early.
func LooksLikeSecret(s string) bool {
	return strings.HasPrefix(s, tokenPrefix) && len(s) == len(tokenPrefix)+43
}

// Principal is who a request acts as.
type Principal struct {
	TokenID string
	Name    string
	Role    Role
	Kind    incident.ActorKind
	// Session is set when the request came with a browser session cookie.
	Session bool
}

// Actor is the identity written into events appended by this principal.
func (p Principal) Actor() incident.Actor {
	return incident.Actor{Kind: p.Kind, ID: "token:" + p.TokenID, Name: p.Name}
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of a request, if authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// IssueToken creates a token and returns its secret, which is shown once and never stored.
func IssueToken(ctx context.Context, st Store, id, name string, role Role, kind incident.ActorKind, now time.Time) (string, Token, error) {
	if strings.TrimSpace(name) == "" {
		return "", Token{}, errors.New("a token needs a name")
	}
	if role.rank() < 0 {
		return "", Token{}, fmt.Errorf("unknown role %q", role)
	}
	if kind == "" {
		kind = incident.ActorPerson
	}
	if !kind.Valid() {
		return "", Token{}, fmt.Errorf("unknown actor kind %q: want person, integration, analyzer or ai", kind)
	}
	secret, hash := NewSecret()
	t := Token{ID: id, Name: name, Role: role, Kind: kind, Hash: hash, CreatedAt: now}
	if err := st.CreateToken(ctx, t); err != nil {
		return "", Token{}, fmt.Errorf("store token: %w", err)
	}
	return secret, t, nil
}
