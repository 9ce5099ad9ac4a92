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
// account and whether the account is held: a pending withdrawal, or an
// account-wide block in force at ?4 on the player or the session's device.
var refreshReadSQL = `SELECT ` + prefixed("s.", sessionCols) + `, ` + prefixed("a.", accountCols) + `,
	` + heldSQL("s") + `
FROM sessions s JOIN accounts a ON a.id = s.account_id
WHERE s.id = ?1`

// heldSQL is sqlstore.HeldSQL for SQLite, in the statements' parameters:
// ?2 BlockPlayer, ?3 BlockDevice, ?4 now.
func heldSQL(sess string) string {
	return sqlstore.HeldSQL(sqlstore.Dialect{
		Withdrawals: "withdrawals",
		Blocks:      "blocks",
		NoServices:  "json_array_length(b.services) = 0",
	}, sess, "?4", "?2", "?3")
}

// prefixed qualifies each column of the comma-separated list cols.
func prefixed(prefix, cols string) string {
	list := strings.Split(cols, ",")
	for i, c := range list {
		list[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(list, ", ")
}

// rotateSQL is the common refresh's one write, a compare-and-swap: the
// rotation, applied only if the session is still live, unexpired and on the
// presented token, and its account still exists and is neither withdrawing
// nor under an account-wide block on the player or the session's device.
var rotateSQL = `UPDATE sessions
SET prev_refresh_hash = refresh_hash, refresh_hash = ?5, generation = generation + 1, rotated_at = ?4
WHERE id = ?1 AND refresh_hash = ?6 AND revoked_at IS NULL AND expires_at > ?4
	AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = sessions.account_id)
	AND NOT ` + heldSQL("sessions") + `
RETURNING ` + sessionCols

// Refresh implements storage.Refresher. The common cases take no write
// lock but for the rotation's one statement: the session, its account and
// whether it is held are read on the readers; a retry, a revoked or
// expired session and a held account are answered from that read, and a
// rotation is rotateSQL, which checks again what it relies on. Anything
// else (a reuse, a compare-and-swap that lost to a concurrent change) is
// decided and written in one write transaction, which holds the write lock
// from the start, so what it reads is what it writes to.
func (s *Store) Refresh(ctx context.Context, id string, r storage.Rotation) (storage.RefreshState, error) {
	r.Now = r.Now.Truncate(time.Microsecond) // the precision stored, as sqlstore.Rotate
	st, err := scanRefresh(s.r.QueryRowContext(ctx, refreshReadSQL, id, string(storage.BlockPlayer),
		string(storage.BlockDevice), r.Now.UnixMicro()))
	if err != nil {
		return storage.RefreshState{}, wrap("refresh", err)
	}
	if st.Held {
		return st, nil
	}
	switch storage.Decide(st.Session, r) {
	case storage.OutcomeRevoked:
		return st, storage.ErrSessionRevoked
	case storage.OutcomeExpired:
		return st, storage.ErrRefreshExpired
	case storage.OutcomeRetry:
		return st, nil
	case storage.OutcomeAdvance:
		ss, err := scanSession(s.w.QueryRowContext(ctx, rotateSQL, id, string(storage.BlockPlayer),
			string(storage.BlockDevice), r.Now.UnixMicro(), bytesArg(r.Next), r.Presented))
		if err == nil {
			st.Session = ss
			return st, nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return storage.RefreshState{}, wrap("refresh", err)
		}
	}
	return s.refreshLocked(ctx, id, r)
}

// scanRefresh scans row, refreshReadSQL's (on the readers or in Refresh's
// transaction): the session joined to its account and whether the account
// is held. No row is storage.ErrNotFound.
func scanRefresh(row *sql.Row) (storage.RefreshState, error) {
	var st storage.RefreshState
	var reason string
	dest := make([]any, 0, 31)
	dest = append(dest, sessionDest(&st.Session, &reason)...)
	dest = append(dest, accountDest(&st.Account)...)
	dest = append(dest, &st.Held)
	err := row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.RefreshState{}, storage.ErrNotFound
	}
	st.Session.RevokeReason = storage.RevokeReason(reason)
	return st, err
}

// refreshLocked is Refresh in one write transaction.
func (s *Store) refreshLocked(ctx context.Context, id string, r storage.Rotation) (storage.RefreshState, error) {
	var st storage.RefreshState
	var verdict error
	err := s.tx(ctx, func(tx wtx) error {
		var err error
		st, err = scanRefresh(tx.QueryRowContext(ctx, refreshReadSQL, id, string(storage.BlockPlayer),
			string(storage.BlockDevice), r.Now.UnixMicro()))
		if err != nil || st.Held {
			return err
		}
		switch storage.Decide(st.Session, r) {
		case storage.OutcomeRevoked:
			verdict = storage.ErrSessionRevoked
		case storage.OutcomeExpired:
			verdict = storage.ErrRefreshExpired
		case storage.OutcomeAdvance:
			st.Session, err = scanSession(tx.QueryRowContext(ctx, `UPDATE sessions
				SET prev_refresh_hash = refresh_hash, refresh_hash = ?, generation = generation + 1, rotated_at = ?
				WHERE id = ?
				RETURNING `+sessionCols, bytesArg(r.Next), micros(r.Now), id))
		case storage.OutcomeReused:
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
