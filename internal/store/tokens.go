package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sextant-sre/sextant/internal/auth"
)

// Tokens and sessions are written rarely, so they go straight to the write connection rather
// than through the event writer.

const tokenColumns = "id, name, role, kind, hash, created_at, revoked_at"

func scanToken(r rowScanner) (auth.Token, error) {
	var t auth.Token
	var created int64
	var revoked sql.NullInt64
	if err := r.Scan(&t.ID, &t.Name, &t.Role, &t.Kind, &t.Hash, &created, &revoked); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return t, ErrNotFound
		}
		return t, fmt.Errorf("read token: %w", err)
	}
	t.CreatedAt = fromNanos(created)
	if revoked.Valid {
		t.RevokedAt = fromNanos(revoked.Int64)
	}
	return t, nil
}

// CreateToken implements auth.Store.
func (s *SQLite) CreateToken(ctx context.Context, t auth.Token) error {
	_, err := s.write.ExecContext(ctx, "INSERT INTO tokens (id, name, role, kind, hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
		t.ID, t.Name, t.Role, t.Kind, t.Hash, nanos(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("insert token: %w", err)
	}
	return nil
}

// TokenByHash implements auth.Store.
func (s *SQLite) TokenByHash(ctx context.Context, hash []byte) (auth.Token, error) {
	return scanToken(s.read.QueryRowContext(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE hash = $1 AND revoked_at IS NULL", hash))
}

// TokenByID implements auth.Store.
func (s *SQLite) TokenByID(ctx context.Context, id string) (auth.Token, error) {
	return scanToken(s.read.QueryRowContext(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE id = $1", id))
}

// ListTokens implements auth.Store.
func (s *SQLite) ListTokens(ctx context.Context) ([]auth.Token, error) {
	tokens, err := queryAll(ctx, s.read, scanToken, "SELECT "+tokenColumns+" FROM tokens ORDER BY created_at")
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return tokens, nil
}

// RevokeToken implements auth.Store; it also ends the token's browser sessions.
func (s *SQLite) RevokeToken(ctx context.Context, id string, at time.Time) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", nanos(at), id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE token_id = $1", id); err != nil {
		return fmt.Errorf("end sessions of token: %w", err)
	}
	return tx.Commit()
}

// CreateSession implements auth.Store; it also clears expired sessions.
func (s *SQLite) CreateSession(ctx context.Context, sess auth.Session) error {
	if _, err := s.write.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at < $1", nanos(sess.CreatedAt)); err != nil {
		return fmt.Errorf("clear expired sessions: %w", err)
	}
	_, err := s.write.ExecContext(ctx, "INSERT INTO sessions (hash, token_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
		sess.Hash, sess.TokenID, nanos(sess.CreatedAt), nanos(sess.ExpiresAt))
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

// SessionByHash implements auth.Store.
func (s *SQLite) SessionByHash(ctx context.Context, hash []byte, now time.Time) (auth.Session, auth.Token, error) {
	var sess auth.Session
	var created, expires int64
	row := s.read.QueryRowContext(ctx, `SELECT s.hash, s.token_id, s.created_at, s.expires_at, t.id, t.name, t.role, t.kind, t.hash, t.created_at, t.revoked_at
		FROM sessions s JOIN tokens t ON t.id = s.token_id
		WHERE s.hash = $1 AND s.expires_at > $2 AND t.revoked_at IS NULL`, hash, nanos(now))
	var t auth.Token
	var tcreated int64
	var revoked sql.NullInt64
	err := row.Scan(&sess.Hash, &sess.TokenID, &created, &expires, &t.ID, &t.Name, &t.Role, &t.Kind, &t.Hash, &tcreated, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return sess, t, ErrNotFound
	}
	if err != nil {
		return sess, t, fmt.Errorf("read session: %w", err)
	}
	sess.CreatedAt, sess.ExpiresAt, t.CreatedAt = fromNanos(created), fromNanos(expires), fromNanos(tcreated)
	return sess, t, nil
}

// DeleteSession implements auth.Store.
func (s *SQLite) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := s.write.ExecContext(ctx, "DELETE FROM sessions WHERE hash = $1", hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
