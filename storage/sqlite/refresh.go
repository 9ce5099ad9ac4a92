package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/internal/sqlstore"
)

var _ storage.Refresher = (*Store)(nil)

// refreshReadSQL reads, in Refresh's transaction, the session joined to its
// account and whether the account is stopped: a pending withdrawal, or an
// account-wide block in force at ?4 on the player or the session's device.
var refreshReadSQL = `SELECT ` + prefixed("s.", sessionCols) + `, ` + prefixed("a.", accountCols) + `,
	EXISTS (SELECT 1 FROM withdrawals w WHERE w.account_id = s.account_id AND w.purged_at IS NULL)
	OR EXISTS (SELECT 1 FROM blocks b
		WHERE b.kind = ?2 AND b.subject = s.account_id AND json_array_length(b.services) = 0
			AND (b.lifted_at IS NULL OR b.lifted_at > ?4) AND (b.until_at IS NULL OR b.until_at > ?4))
	OR (s.device_id <> '' AND EXISTS (SELECT 1 FROM blocks b
		WHERE b.kind = ?3 AND b.subject = s.device_id AND json_array_length(b.services) = 0
			AND (b.lifted_at IS NULL OR b.lifted_at > ?4) AND (b.until_at IS NULL OR b.until_at > ?4)))
FROM sessions s JOIN accounts a ON a.id = s.account_id
WHERE s.id = ?1`

// prefixed qualifies each column of the comma-separated list cols.
func prefixed(prefix, cols string) string {
	list := strings.Split(cols, ",")
	for i, c := range list {
		list[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(list, ", ")
}

// Refresh implements storage.Refresher in one write transaction: it holds
// the write lock from the start, so what it reads is what it writes to.
func (s *Store) Refresh(ctx context.Context, id string, r storage.Rotation) (storage.RefreshState, error) {
	r.Now = r.Now.Truncate(time.Microsecond) // the precision stored, as sqlstore.Rotate
	var st storage.RefreshState
	var verdict error
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var reason string
		dest := make([]any, 0, 29)
		dest = append(dest, sessionDest(&st.Session, &reason)...)
		dest = append(dest, accountDest(&st.Account)...)
		dest = append(dest, &st.Stopped)
		err := tx.QueryRowContext(ctx, refreshReadSQL, id, string(storage.BlockPlayer),
			string(storage.BlockDevice), r.Now.UnixMicro()).Scan(dest...)
		if errors.Is(err, sql.ErrNoRows) {
			return storage.ErrNotFound
		}
		st.Session.RevokeReason = storage.RevokeReason(reason)
		if err != nil || st.Stopped {
			return err
		}
		switch sqlstore.Decide(st.Session, r) {
		case sqlstore.Revoked:
			verdict = storage.ErrSessionRevoked
		case sqlstore.Expired:
			verdict = storage.ErrRefreshExpired
		case sqlstore.Advance:
			st.Session, err = scanSession(tx.QueryRowContext(ctx, `UPDATE sessions
				SET prev_refresh_hash = refresh_hash, refresh_hash = ?, generation = generation + 1, rotated_at = ?
				WHERE id = ?
				RETURNING `+sessionCols, bytesArg(r.Next), micros(r.Now), id))
		case sqlstore.Reused:
			st.Session, err = scanSession(tx.QueryRowContext(ctx, `UPDATE sessions
				SET revoked_at = ?, revoke_reason = ?
				WHERE id = ?
				RETURNING `+sessionCols, micros(r.Now), string(storage.ReasonReused), id))
			verdict = storage.ErrRefreshReused
		}
		return err
	})
	if err != nil {
		return storage.RefreshState{}, wrap("refresh", err)
	}
	return st, verdict
}
