package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/internal/sqlstore"
)

var (
	_ storage.Directory = (*Store)(nil)
	_ storage.Eraser    = (*Store)(nil)
	_ storage.Audit     = (*Store)(nil)
)

// GetAccountByOpenID implements storage.Directory (index
// gameauth_accounts_open_id).
func (s *Store) GetAccountByOpenID(ctx context.Context, openID string) (storage.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, s.q(`SELECT `+accountCols+` FROM gameauth_accounts
		WHERE open_id = $1 ORDER BY id COLLATE "C" LIMIT 1`), openID))
	return a, wrap("get account by open id", err)
}

// SearchNicknames implements storage.Directory as one range scan of the
// nickname index (gameauth_accounts_nickname_key, in "C" collation since
// migration 0003): the keys from the later of the prefix and the cursor, up
// to the prefix's successor (sqlstore.KeyRange). Keys are unique, so
// ordering by key alone is ordering by key then ID; the cursor's own key is
// skipped by a filter on that one row, so the scan starts at the cursor.
func (s *Store) SearchNicknames(ctx context.Context, prefix, afterKey, afterID string, limit int) ([]storage.Account, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("search nicknames", err)
	}
	key := storage.NicknameKey(prefix)
	if limit <= 0 || !utf8.ValidString(key) {
		return nil, nil
	}
	lo, hi, bounded := sqlstore.KeyRange(key)
	start := lo
	if afterID == "" {
		afterKey = ""
	} else if afterKey > start {
		start = afterKey
	}
	if !utf8.ValidString(start) {
		return nil, nil // a cursor no search returned: nothing valid is at or after it in the range
	}
	args := []any{start, afterKey, afterID, limit}
	if bounded {
		args = append(args, hi)
	}
	as, err := collect(ctx, s.pool, scanAccount, s.q(searchSQL(bounded)), args...)
	return as, wrap("search nicknames", err)
}

// searchSQL is SearchNicknames' statement: $1 the range's start, $2 and $3
// the cursor's key and ID ("" for none), $4 the limit, $5 the range's end
// (when bounded).
func searchSQL(bounded bool) string {
	query := `SELECT ` + accountCols + ` FROM gameauth_accounts
		WHERE nickname_key >= $1 AND nickname_key <> ''`
	if bounded {
		query += ` AND nickname_key < $5`
	}
	return query + ` AND NOT (nickname_key = $2 AND id COLLATE "C" <= $3)
		ORDER BY nickname_key LIMIT $4`
}

// AccountsOnDevice implements storage.Directory (index
// gameauth_sessions_device).
func (s *Store) AccountsOnDevice(ctx context.Context, deviceID string, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("accounts on device", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	ids, err := collect(ctx, s.pool, scanID, s.q(`SELECT DISTINCT account_id COLLATE "C" FROM gameauth_sessions
		WHERE device_id = $1 ORDER BY 1 LIMIT $2`), deviceID, limit)
	return ids, wrap("accounts on device", err)
}

// ListSessions implements storage.Directory (index
// gameauth_sessions_account).
func (s *Store) ListSessions(ctx context.Context, accountID string) ([]storage.Session, error) {
	ss, err := collect(ctx, s.pool, scanSession, s.q(`SELECT `+sessionCols+` FROM gameauth_sessions
		WHERE account_id = $1 ORDER BY created_at DESC, id COLLATE "C"`), accountID)
	return ss, wrap("list sessions", err)
}

// ListBlocks implements storage.Directory (index gameauth_blocks_subject).
func (s *Store) ListBlocks(ctx context.Context, kind storage.BlockKind, subject string) ([]storage.Block, error) {
	bs, err := collect(ctx, s.pool, scanBlock, s.q(`SELECT `+blockCols+` FROM gameauth_blocks
		WHERE kind = $1 AND subject = $2 ORDER BY created_at DESC, block_key COLLATE "C"`), string(kind), subject)
	return bs, wrap("list blocks", err)
}

// ErasePlayer implements storage.Eraser, in one transaction holding the
// account's advisory lock (as every write to several of its sessions does)
// and its row lock when it still has one (as identity links do), so a
// sign-in or a link racing with it is either erased or comes after.
func (s *Store) ErasePlayer(ctx context.Context, accountID, email string) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := s.lock(ctx, tx, "account "+accountID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.q(`SELECT 1 FROM gameauth_accounts WHERE id = $1 FOR UPDATE`), accountID); err != nil {
			return err
		}
		for i, st := range []struct {
			query string
			args  []any
		}{
			{`DELETE FROM gameauth_sessions WHERE account_id = $1`, []any{accountID}},
			{`DELETE FROM gameauth_blocks WHERE kind = $1 AND subject = $2`, []any{string(storage.BlockPlayer), accountID}},
			{`DELETE FROM gameauth_identities WHERE account_id = $1`, []any{accountID}},
			{`DELETE FROM gameauth_reset_codes WHERE email = $1 AND email <> ''`, []any{email}},
		} {
			if _, err := tx.Exec(ctx, s.q(st.query), st.args...); err != nil {
				return err
			}
			if i == 0 {
				s.wrote(ctx, tx)
			}
		}
		return nil
	})
	return wrap("erase player", err)
}

const auditCols = `seq, kind, event_at, player_id, session_id, device_id, client_addr, operator, reason`

func scanAudit(r pgx.Row) (storage.AuditEvent, error) {
	var e storage.AuditEvent
	err := r.Scan(&e.Seq, &e.Kind, ts{&e.Time}, &e.PlayerID, &e.SessionID, &e.DeviceID, &e.ClientAddr, &e.Operator, &e.Reason)
	return e, err
}

// AppendAudit implements storage.Audit, in one statement; the identity
// column numbers the events in the order given.
func (s *Store) AppendAudit(ctx context.Context, events []storage.AuditEvent) error {
	if err := ctx.Err(); err != nil {
		return wrap("append audit", err)
	}
	if len(events) == 0 {
		return nil
	}
	cols := make([][]string, 7)
	times := make([]time.Time, len(events))
	for i, e := range events {
		for c, v := range []string{e.Kind, e.PlayerID, e.SessionID, e.DeviceID, e.ClientAddr, e.Operator, e.Reason} {
			cols[c] = append(cols[c], v)
		}
		times[i] = e.Time
	}
	_, err := s.pool.Exec(ctx, s.q(`INSERT INTO gameauth_audit (kind, event_at, player_id, session_id,
			device_id, client_addr, operator, reason)
		SELECT kind, event_at, player_id, session_id, device_id, client_addr, operator, reason
		FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
			WITH ORDINALITY AS e(kind, event_at, player_id, session_id, device_id, client_addr, operator, reason, n)
		ORDER BY n`), cols[0], times, cols[1], cols[2], cols[3], cols[4], cols[5], cols[6])
	return wrap("append audit", err)
}

// ListAudit implements storage.Audit. Only the filters that are set are in
// the statement, so the planner picks the index that fits
// (gameauth_audit_player or gameauth_audit_kind, read backwards from
// BeforeSeq; the primary key without either).
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter, limit int) ([]storage.AuditEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("list audit", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	var where []string
	args := []any{limit}
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.PlayerID != "" {
		add(`player_id = $%d`, f.PlayerID)
	}
	if f.Kind != "" {
		add(`kind = $%d`, f.Kind)
	}
	if !f.Since.IsZero() {
		add(`event_at >= $%d`, f.Since)
	}
	if f.BeforeSeq > 0 {
		add(`seq < $%d`, f.BeforeSeq)
	}
	query := `SELECT ` + auditCols + ` FROM gameauth_audit`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	evs, err := collect(ctx, s.pool, scanAudit, s.q(query+` ORDER BY seq DESC LIMIT $1`), args...)
	return evs, wrap("list audit", err)
}

// DeleteAuditBefore implements storage.Audit (index gameauth_audit_time).
func (s *Store) DeleteAuditBefore(ctx context.Context, t time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, s.q(`DELETE FROM gameauth_audit WHERE event_at < $1`), t)
	if err != nil {
		return 0, wrap("delete audit", err)
	}
	return int(tag.RowsAffected()), nil
}
