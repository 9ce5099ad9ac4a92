package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/internal/sqlstore"
)

const sessionCols = `id, account_id, device_id, platform, created_at, expires_at, refresh_hash,
	prev_refresh_hash, generation, rotated_at, revoked_at, revoke_reason, client_addr, device_model`

// sessionDest are the scan destinations of sessionCols, in order; reason
// receives revoke_reason.
func sessionDest(s *storage.Session, reason *string) []any {
	return []any{&s.ID, &s.AccountID, &s.DeviceID, &s.Platform, tm{&s.CreatedAt}, tm{&s.ExpiresAt},
		blob{&s.RefreshHash}, blob{&s.PrevRefreshHash}, &s.Generation, tm{&s.RotatedAt},
		tm{&s.RevokedAt}, reason, &s.ClientAddr, &s.DeviceModel}
}

func scanSession(sc scanner) (storage.Session, error) {
	var s storage.Session
	var reason string
	err := sc.Scan(sessionDest(&s, &reason)...)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Session{}, storage.ErrNotFound
	}
	s.RevokeReason = storage.RevokeReason(reason)
	return s, err
}

// CreateSession implements storage.Sessions.
func (s *Store) CreateSession(ctx context.Context, ss storage.Session, keep int) ([]string, error) {
	var replaced []string
	err := s.tx(ctx, func(tx wtx) (err error) {
		replaced, err = insertSession(ctx, tx, ss, keep)
		return err
	})
	if err != nil {
		return nil, wrap("create session", err)
	}
	return replaced, nil
}

// insertSession writes a new session in tx and, when keep > 0, replaces
// the account's other live sessions but the newest keep-1, returning their
// IDs.
func insertSession(ctx context.Context, tx wtx, ss storage.Session, keep int) ([]string, error) {
	_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ss.ID, ss.AccountID, ss.DeviceID, ss.Platform, micros(ss.CreatedAt), micros(ss.ExpiresAt),
		bytesArg(ss.RefreshHash), bytesArg(ss.PrevRefreshHash), ss.Generation, micros(ss.RotatedAt),
		micros(ss.RevokedAt), string(ss.RevokeReason), ss.ClientAddr, ss.DeviceModel)
	if isUnique(err) {
		return nil, storage.Conflict(storage.FieldID)
	}
	if err != nil || keep <= 0 {
		return nil, err
	}
	// The newest keep-1 other live sessions stay; the rest are replaced.
	return ids(ctx, tx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
		WHERE id IN (
			SELECT id FROM sessions
			WHERE account_id = ? AND revoked_at IS NULL AND id <> ?
			ORDER BY created_at DESC, rowid DESC
			LIMIT -1 OFFSET ?)
		RETURNING id`,
		micros(ss.CreatedAt), string(storage.ReasonReplaced), ss.AccountID, ss.ID, keep-1)
}

// GetSession implements storage.Sessions.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	ss, err := scanSession(s.r.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id))
	return ss, wrap("get session", err)
}

// RotateRefresh implements storage.Sessions: see sqlstore.Rotate.
func (s *Store) RotateRefresh(ctx context.Context, id string, r storage.Rotation) (storage.Session, error) {
	ss, err := sqlstore.Rotate(ctx, rotateOps{s}, id, r)
	return ss, wrap("rotate refresh", err)
}

// rotateOps are RotateRefresh's statements; each is atomic on its own.
type rotateOps struct{ s *Store }

func (o rotateOps) Advance(ctx context.Context, id string, r storage.Rotation) (storage.Session, bool, error) {
	return sqlstore.Applied(scanSession(o.s.w.QueryRowContext(ctx, `UPDATE sessions
		SET prev_refresh_hash = refresh_hash, refresh_hash = ?, generation = generation + 1, rotated_at = ?
		WHERE id = ? AND refresh_hash = ? AND revoked_at IS NULL AND expires_at > ?
		RETURNING `+sessionCols,
		bytesArg(r.Next), micros(r.Now), id, r.Presented, micros(r.Now))))
}

func (o rotateOps) Get(ctx context.Context, id string) (storage.Session, error) {
	return o.s.GetSession(ctx, id)
}

func (o rotateOps) RevokeReused(ctx context.Context, id string, gen int64, now time.Time) (storage.Session, bool, error) {
	return sqlstore.Applied(scanSession(o.s.w.QueryRowContext(ctx, `UPDATE sessions
		SET revoked_at = ?, revoke_reason = ?
		WHERE id = ? AND generation = ? AND revoked_at IS NULL
		RETURNING `+sessionCols,
		micros(now), string(storage.ReasonReused), id, gen)))
}

// RevokeSession implements storage.Sessions.
func (s *Store) RevokeSession(ctx context.Context, id string, reason storage.RevokeReason, now time.Time) error {
	err := s.tx(ctx, func(tx wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
			WHERE id = ? AND revoked_at IS NULL`, micros(now), string(reason), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		found, err := exists(ctx, tx, `SELECT 1 FROM sessions WHERE id = ?`, id)
		if err == nil && !found {
			err = storage.ErrNotFound
		}
		return err
	})
	return wrap("revoke session", err)
}

// RevokeSessions implements storage.Sessions.
func (s *Store) RevokeSessions(ctx context.Context, accountID, except string, reason storage.RevokeReason, now time.Time) ([]string, error) {
	var revoked []string
	err := s.tx(ctx, func(tx wtx) error {
		var err error
		revoked, err = revokeAll(ctx, tx, accountID, except, reason, now)
		return err
	})
	if err != nil {
		return nil, wrap("revoke sessions", err)
	}
	return revoked, nil
}

// revokeAll revokes the account's live sessions but except, in tx.
func revokeAll(ctx context.Context, tx wtx, accountID, except string, reason storage.RevokeReason, now time.Time) ([]string, error) {
	return ids(ctx, tx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
		WHERE account_id = ? AND revoked_at IS NULL AND id <> ?
		RETURNING id`, micros(now), string(reason), accountID, except)
}

// RevokedSince implements storage.Sessions.
func (s *Store) RevokedSince(ctx context.Context, since time.Time) ([]storage.Revocation, error) {
	revs, err := queryList(ctx, s.r, func(sc scanner) (storage.Revocation, error) {
		var r storage.Revocation
		var reason string
		err := sc.Scan(&r.SessionID, &r.AccountID, &reason, tm{&r.At})
		r.Reason = storage.RevokeReason(reason)
		return r, err
	}, `SELECT id, account_id, revoke_reason, revoked_at FROM sessions
		WHERE revoked_at >= ? ORDER BY revoked_at, rowid`, since.UnixMicro())
	return revs, wrap("revoked since", err)
}

// DeleteSessionsBefore implements storage.Sessions.
func (s *Store) DeleteSessionsBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1`, t.UnixMicro())
	if err != nil {
		return 0, wrap("delete sessions", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("delete sessions", err)
}
