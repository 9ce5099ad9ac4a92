package sqlite

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/internal/sqlstore"
)

var (
	_ storage.Directory = (*Store)(nil)
	_ storage.Eraser    = (*Store)(nil)
	_ storage.Audit     = (*Store)(nil)
)

// GetAccountByOpenID implements storage.Directory (index accounts_open_id).
func (s *Store) GetAccountByOpenID(ctx context.Context, openID string) (storage.Account, error) {
	a, err := scanAccount(s.r.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts
		WHERE open_id = ? ORDER BY id LIMIT 1`, openID))
	return a, wrap("get account by open id", err)
}

// SearchNicknames implements storage.Directory as one range scan of the
// nickname index (accounts_nickname): the keys from the later of the
// prefix and the cursor, up to the prefix's successor (sqlstore.KeyRange).
// Keys are unique, so ordering by key alone is ordering by key then ID; the
// cursor's own key is skipped by a filter on that one row, not by an OR
// that would make SQLite start the scan at the range's beginning.
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
	as, err := queryList(ctx, s.r, scanAccount, searchSQLs[bounded], start, hi, afterKey, afterID, limit)
	return as, wrap("search nicknames", err)
}

// searchSQLs are SearchNicknames' two statements, by whether the range is
// bounded: fixed texts, for the readers' statement cache.
var searchSQLs = map[bool]string{false: searchSQL(false), true: searchSQL(true)}

// searchSQL is SearchNicknames' statement: ?1 the range's start, ?2 its end
// (when bounded), ?3 and ?4 the cursor's key and ID ("" for none), ?5 the
// limit.
func searchSQL(bounded bool) string {
	query := `SELECT ` + accountCols + ` FROM accounts
		WHERE nickname_key >= ?1 AND nickname_key <> ''`
	if bounded {
		query += ` AND nickname_key < ?2`
	}
	return query + ` AND NOT (nickname_key = ?3 AND id <= ?4)
		ORDER BY nickname_key LIMIT ?5`
}

// AccountsOnDevice implements storage.Directory (index sessions_device).
func (s *Store) AccountsOnDevice(ctx context.Context, deviceID string, limit int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("accounts on device", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	ids, err := queryList(ctx, s.r, func(sc scanner) (string, error) {
		var id string
		err := sc.Scan(&id)
		return id, err
	}, `SELECT DISTINCT account_id FROM sessions WHERE device_id = ? ORDER BY account_id LIMIT ?`, deviceID, limit)
	return ids, wrap("accounts on device", err)
}

// ListSessions implements storage.Directory (index sessions_account).
func (s *Store) ListSessions(ctx context.Context, accountID string) ([]storage.Session, error) {
	ss, err := queryList(ctx, s.r, scanSession, `SELECT `+sessionCols+` FROM sessions
		WHERE account_id = ? ORDER BY created_at DESC, id`, accountID)
	return ss, wrap("list sessions", err)
}

// ListBlocks implements storage.Directory (index blocks_subject).
func (s *Store) ListBlocks(ctx context.Context, kind storage.BlockKind, subject string) ([]storage.Block, error) {
	bs, err := queryList(ctx, s.r, scanBlock, `SELECT `+blockCols+` FROM blocks
		WHERE kind = ? AND subject = ? ORDER BY created_at DESC, block_key`, string(kind), subject)
	return bs, wrap("list blocks", err)
}

// ErasePlayer implements storage.Eraser, in one transaction.
func (s *Store) ErasePlayer(ctx context.Context, accountID, email string) error {
	err := s.tx(ctx, func(tx wtx) error {
		for _, st := range []struct {
			query string
			args  []any
		}{
			{`DELETE FROM sessions WHERE account_id = ?`, []any{accountID}},
			{`DELETE FROM blocks WHERE kind = ? AND subject = ?`, []any{string(storage.BlockPlayer), accountID}},
			{`DELETE FROM identities WHERE account_id = ?`, []any{accountID}},
			{`DELETE FROM reset_codes WHERE email = ? AND email <> ''`, []any{email}},
		} {
			if _, err := tx.ExecContext(ctx, st.query, st.args...); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("erase player", err)
}

const auditCols = `seq, kind, event_at, player_id, session_id, device_id, client_addr, operator, reason`

func scanAudit(sc scanner) (storage.AuditEvent, error) {
	var e storage.AuditEvent
	var at int64
	err := sc.Scan(&e.Seq, &e.Kind, &at, &e.PlayerID, &e.SessionID, &e.DeviceID, &e.ClientAddr, &e.Operator, &e.Reason)
	e.Time = time.UnixMicro(at).UTC()
	return e, err
}

// AppendAudit implements storage.Audit, in one transaction; the
// AUTOINCREMENT key numbers the events in order.
func (s *Store) AppendAudit(ctx context.Context, events []storage.AuditEvent) error {
	if err := ctx.Err(); err != nil {
		return wrap("append audit", err)
	}
	if len(events) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx wtx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO audit (kind, event_at, player_id, session_id,
			device_id, client_addr, operator, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, e := range events {
			if _, err := st.ExecContext(ctx, e.Kind, e.Time.UnixMicro(), e.PlayerID, e.SessionID,
				e.DeviceID, e.ClientAddr, e.Operator, e.Reason); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("append audit", err)
}

// ListAudit implements storage.Audit. Only the filters that are set are in
// the statement, so SQLite picks the index that fits (audit_player or
// audit_kind, read backwards from BeforeSeq; the primary key without
// either). The statement is built at run time, so it runs unprepared.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter, limit int) ([]storage.AuditEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap("list audit", err)
	}
	if limit <= 0 {
		return nil, nil
	}
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.PlayerID != "" {
		add(`player_id = ?`, f.PlayerID)
	}
	if f.Kind != "" {
		add(`kind = ?`, f.Kind)
	}
	if !f.Since.IsZero() {
		add(`event_at >= ?`, f.Since.UnixMicro())
	}
	if f.BeforeSeq > 0 {
		add(`seq < ?`, f.BeforeSeq)
	}
	query := `SELECT ` + auditCols + ` FROM audit`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	evs, err := queryList(ctx, s.r.db, scanAudit, query+` ORDER BY seq DESC LIMIT ?`, append(args, limit)...)
	return evs, wrap("list audit", err)
}

// DeleteAuditBefore implements storage.Audit (index audit_time).
func (s *Store) DeleteAuditBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM audit WHERE event_at < ?`, t.UnixMicro())
	if err != nil {
		return 0, wrap("delete audit", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("delete audit", err)
}
