package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/internal/sqlstore"
)

const sessionCols = `id, account_id, device_id, platform, created_at, expires_at, refresh_hash,
	prev_refresh_hash, generation, rotated_at, revoked_at, revoke_reason, client_addr, device_model`

// sessionDest are the scan destinations of sessionCols, in order; reason
// receives revoke_reason.
func sessionDest(s *storage.Session, reason *string) []any {
	return []any{&s.ID, &s.AccountID, &s.DeviceID, &s.Platform, ts{&s.CreatedAt}, ts{&s.ExpiresAt},
		&s.RefreshHash, &s.PrevRefreshHash, &s.Generation, ts{&s.RotatedAt}, ts{&s.RevokedAt}, reason,
		&s.ClientAddr, &s.DeviceModel}
}

func scanSession(r pgx.Row) (storage.Session, error) {
	var s storage.Session
	var reason string
	err := r.Scan(sessionDest(&s, &reason)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Session{}, storage.ErrNotFound
	}
	s.RevokeReason = storage.RevokeReason(reason)
	return s, err
}

// CreateSession implements storage.Sessions. It holds the account's advisory
// lock, as does every write to several of an account's sessions: concurrent
// sign-ins cannot both keep keep, and a withdrawal or a revoke-all cannot
// miss a session being created.
func (s *Store) CreateSession(ctx context.Context, ss storage.Session, keep int) ([]string, error) {
	var replaced []string
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := s.lock(ctx, tx, "account "+ss.AccountID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, s.q(`INSERT INTO gameauth_sessions (`+sessionCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`),
			ss.ID, ss.AccountID, ss.DeviceID, ss.Platform, tsArg(ss.CreatedAt), tsArg(ss.ExpiresAt),
			bytesArg(ss.RefreshHash), bytesArg(ss.PrevRefreshHash), ss.Generation, tsArg(ss.RotatedAt),
			tsArg(ss.RevokedAt), string(ss.RevokeReason), ss.ClientAddr, ss.DeviceModel)
		if err != nil || keep <= 0 {
			return err
		}
		s.wrote(ctx, tx)
		// The newest keep-1 other live sessions stay; the rest are replaced.
		replaced, err = collect(ctx, tx, scanID, s.q(`UPDATE gameauth_sessions SET revoked_at = $1, revoke_reason = $2
			WHERE id IN (
				SELECT id FROM gameauth_sessions
				WHERE account_id = $3 AND revoked_at IS NULL AND id <> $4
				ORDER BY created_at DESC, seq DESC
				OFFSET $5)
			RETURNING id`),
			tsArg(ss.CreatedAt), string(storage.ReasonReplaced), ss.AccountID, ss.ID, keep-1)
		return err
	})
	if err != nil {
		return nil, wrap("create session", err)
	}
	return replaced, nil
}

// GetSession implements storage.Sessions.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	ss, err := scanSession(s.pool.QueryRow(ctx, s.q(`SELECT `+sessionCols+` FROM gameauth_sessions WHERE id = $1`), id))
	return ss, wrap("get session", err)
}

// RotateRefresh implements storage.Sessions: see sqlstore.Rotate. A
// rotation is one round trip, a conditional UPDATE ... RETURNING.
func (s *Store) RotateRefresh(ctx context.Context, id string, r storage.Rotation) (storage.Session, error) {
	ss, err := sqlstore.Rotate(ctx, rotateOps{s}, id, r)
	return ss, wrap("rotate refresh", err)
}

// rotateOps are RotateRefresh's statements; each is atomic on its own.
type rotateOps struct{ s *Store }

func (o rotateOps) Advance(ctx context.Context, id string, r storage.Rotation) (storage.Session, bool, error) {
	return sqlstore.Applied(scanSession(o.s.pool.QueryRow(ctx, o.s.q(`UPDATE gameauth_sessions
		SET prev_refresh_hash = refresh_hash, refresh_hash = $1, generation = generation + 1, rotated_at = `+stampSQL("$2::timestamptz")+`
		WHERE id = $3 AND refresh_hash = $4 AND revoked_at IS NULL AND expires_at > $2
		RETURNING `+sessionCols),
		bytesArg(r.Next), tsArg(r.Now), id, r.Presented)))
}

func (o rotateOps) Get(ctx context.Context, id string) (storage.Session, error) {
	return o.s.GetSession(ctx, id)
}

func (o rotateOps) RevokeReused(ctx context.Context, id string, gen int64, now time.Time) (storage.Session, bool, error) {
	return sqlstore.Applied(scanSession(o.s.pool.QueryRow(ctx, o.s.q(`UPDATE gameauth_sessions
		SET revoked_at = $1, revoke_reason = $2
		WHERE id = $3 AND generation = $4 AND revoked_at IS NULL
		RETURNING `+sessionCols),
		tsArg(now), string(storage.ReasonReused), id, gen)))
}

// RevokeSession implements storage.Sessions, in one statement: the UPDATE
// and, from the same snapshot, whether the session exists at all.
func (s *Store) RevokeSession(ctx context.Context, id string, reason storage.RevokeReason, now time.Time) error {
	var found bool
	err := s.pool.QueryRow(ctx, s.q(`WITH revoked AS (
			UPDATE gameauth_sessions SET revoked_at = $2, revoke_reason = $3
			WHERE id = $1 AND revoked_at IS NULL
			RETURNING id)
		SELECT EXISTS (SELECT 1 FROM gameauth_sessions WHERE id = $1)`),
		id, tsArg(now), string(reason)).Scan(&found)
	if err == nil && !found {
		err = storage.ErrNotFound
	}
	return wrap("revoke session", err)
}

// RevokeSessions implements storage.Sessions, under the account's advisory
// lock (see CreateSession).
func (s *Store) RevokeSessions(ctx context.Context, accountID, except string, reason storage.RevokeReason, now time.Time) ([]string, error) {
	var revoked []string
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := s.lock(ctx, tx, "account "+accountID); err != nil {
			return err
		}
		var err error
		revoked, err = s.revokeAll(ctx, tx, accountID, except, reason, now)
		return err
	})
	if err != nil {
		return nil, wrap("revoke sessions", err)
	}
	return revoked, nil
}

// revokeAll revokes the account's live sessions but except.
func (s *Store) revokeAll(ctx context.Context, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, accountID, except string, reason storage.RevokeReason, now time.Time) ([]string, error) {
	return collect(ctx, db, scanID, s.q(`UPDATE gameauth_sessions SET revoked_at = $1, revoke_reason = $2
		WHERE account_id = $3 AND revoked_at IS NULL AND id <> $4
		RETURNING id`), tsArg(now), string(reason), accountID, except)
}

// RevokedSince implements storage.Sessions.
func (s *Store) RevokedSince(ctx context.Context, since time.Time) ([]storage.Revocation, error) {
	revs, err := collect(ctx, s.pool, func(r pgx.Row) (storage.Revocation, error) {
		var rv storage.Revocation
		var reason string
		err := r.Scan(&rv.SessionID, &rv.AccountID, &reason, ts{&rv.At})
		rv.Reason = storage.RevokeReason(reason)
		return rv, err
	}, s.q(`SELECT id, account_id, revoke_reason, revoked_at FROM gameauth_sessions
		WHERE revoked_at >= $1 ORDER BY revoked_at, seq`), since)
	return revs, wrap("revoked since", err)
}

// DeleteSessionsBefore implements storage.Sessions.
func (s *Store) DeleteSessionsBefore(ctx context.Context, t time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, s.q(`DELETE FROM gameauth_sessions WHERE expires_at < $1 OR revoked_at < $1`), t)
	if err != nil {
		return 0, wrap("delete sessions", err)
	}
	return int(tag.RowsAffected()), nil
}
