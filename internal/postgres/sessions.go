package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// SessionStore keeps the web sessions in the sessions table, for scs. It
// is pgxstore's store with one difference: every query runs under the
// request's context. pgxstore runs them under context.Background, so with
// the pool exhausted, or a database that takes connections but does not
// answer, loading a session would wait for ever, past any request
// deadline, instead of failing over to the "try again" page.
//
// The table holds the SHA-256 of each token (token_hash), never the token:
// the cookie is the only copy of it, so reading the table, a replica or a
// backup gives nothing that logs in.
type SessionStore struct {
	db *DB
}

// SessionStore returns the session store on db.
func (db *DB) SessionStore() *SessionStore { return &SessionStore{db: db} }

// tokenHash is the key under which token is stored.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// FindCtx returns the data of an unexpired session.
func (s *SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var b []byte
	err := s.db.Pool.QueryRow(ctx, `SELECT data FROM sessions WHERE token_hash = $1 AND current_timestamp < expiry`, tokenHash(token)).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// CommitCtx stores a session, new or changed. scs commits the session on
// every request to move its idle deadline (expiry) on; when the data are
// unchanged and the stored expiry is less than a thirtieth of the time
// left before the new one (a minute, with the 30-minute idle timeout)
// short of it, nothing is written. Such a request then commits no
// transaction that must wait for the disk (about 5 ms a request, more
// under load), and the session ends at most that much before its idle
// timeout is up, never after. A later expiry than the one stored is
// always written.
func (s *SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	_, err := s.db.Pool.Exec(ctx, `WITH renewed AS (
			UPDATE sessions SET data = $2, expiry = $3
			WHERE token_hash = $1 AND (data <> $2 OR expiry > $3 OR expiry < $3 - ($3 - current_timestamp) / 30)
			RETURNING 1)
		INSERT INTO sessions (token_hash, data, expiry) SELECT $1, $2, $3
		WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE token_hash = $1)
		ON CONFLICT (token_hash) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry`, tokenHash(token), b, expiry)
	return err
}

// DeleteCtx removes a session.
func (s *SessionStore) DeleteCtx(ctx context.Context, token string) error {
	_, err := s.db.Pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash(token))
	return err
}

// Find, Commit and Delete complete scs.Store; scs calls the Ctx variants.

// Find is FindCtx without a deadline.
func (s *SessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit is CommitCtx without a deadline.
func (s *SessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is DeleteCtx without a deadline.
func (s *SessionStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }
