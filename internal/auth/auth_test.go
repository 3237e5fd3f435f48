package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sextant-sre/sextant/internal/incident"
)

func TestRoleOrder(t *testing.T) {
	cases := []struct {
		have, need Role
		ok         bool
	}{
		{Viewer, Viewer, true}, {Viewer, Responder, false}, {Viewer, Admin, false},
		{Responder, Viewer, true}, {Responder, Responder, true}, {Responder, Admin, false},
		{Admin, Viewer, true}, {Admin, Admin, true},
		{"", Viewer, false}, {Admin, "root", false},
	}
	for _, c := range cases {
		if got := c.have.Allows(c.need); got != c.ok {
			t.Errorf("%q allows %q = %v, want %v", c.have, c.need, got, c.ok)
		}
	}
	if _, err := ParseRole("root"); err == nil {
		t.Error("unknown role parsed")
	}
}

func TestSecrets(t *testing.T) {
	a, ha := NewSecret()
	b, _ := NewSecret()
	if a == b || !LooksLikeSecret(a) || LooksLikeSecret(a[:len(a)-1]) || LooksLikeSecret("Bearer "+a) {
		t.Fatalf("secrets: %q %q", a, b)
	}
	if string(Hash(a)) != string(ha) || len(ha) != 32 {
		t.Fatal("hash must be the SHA-256 of the secret")
	}
}

type memStore struct {
	Store
	tokens []Token
}

func (m *memStore) CreateToken(_ context.Context, t Token) error {
	m.tokens = append(m.tokens, t)
	return nil
}

func TestIssueToken(t *testing.T) {
	st := &memStore{}
	secret, tok, err := IssueToken(context.Background(), st, "id1", "ci", Responder, "", time.Now())
	if err != nil || tok.Kind != incident.ActorPerson || string(tok.Hash) != string(Hash(secret)) {
		t.Fatalf("issue: %+v %v", tok, err)
	}
	if strings.Contains(string(tok.Hash), secret) {
		t.Fatal("the stored token holds the secret")
	}
	for _, bad := range []struct {
		name string
		role Role
		kind incident.ActorKind
	}{{"", Viewer, ""}, {"x", "root", ""}, {"x", Viewer, "robot"}} {
		if _, _, err := IssueToken(context.Background(), st, "id", bad.name, bad.role, bad.kind, time.Now()); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if len(st.tokens) != 1 {
		t.Fatalf("refused tokens were stored: %d", len(st.tokens))
	}
}
