package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/gameauth/gameauth/storage"
)

const accountCols = `id, open_id, linked_type, linked_id, password_hash, nickname, country, timezone,
	purchase_count, purchase_currency, purchase_total, voided_count, voided_currency, voided_total,
	created_at, updated_at`

// accountDest are the scan destinations of accountCols, in order.
func accountDest(a *storage.Account) []any {
	p := &a.Purchases
	return []any{&a.ID, &a.OpenID, &a.LinkedType, &a.LinkedID, &a.PasswordHash, &a.Nickname,
		&a.Country, &a.Timezone, &p.Count, &p.CurrencyCode, &p.TotalPrice, &p.VoidedCount,
		&p.VoidedCurrencyCode, &p.VoidedTotalPrice, ts{&a.CreatedAt}, ts{&a.UpdatedAt}}
}

func scanAccount(r pgx.Row) (storage.Account, error) {
	var a storage.Account
	err := r.Scan(accountDest(&a)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Account{}, storage.ErrNotFound
	}
	return a, err
}

// CreateAccount implements storage.Accounts. The account and its primary
// identity go in in one statement.
func (s *Store) CreateAccount(ctx context.Context, a storage.Account) error {
	p := a.Purchases
	_, err := s.pool.Exec(ctx, s.q(`WITH a AS (
			INSERT INTO gameauth_accounts (`+accountCols+`, nickname_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
			RETURNING id, linked_type, linked_id, created_at)
		INSERT INTO gameauth_identities (type, subject, account_id, linked_at)
		SELECT linked_type, linked_id, id, created_at FROM a`),
		a.ID, a.OpenID, a.LinkedType, a.LinkedID, a.PasswordHash, a.Nickname, a.Country, a.Timezone,
		p.Count, p.CurrencyCode, p.TotalPrice, p.VoidedCount, p.VoidedCurrencyCode, p.VoidedTotalPrice,
		tsArg(a.CreatedAt), tsArg(a.UpdatedAt), storage.NicknameKey(a.Nickname))
	return wrap("create account", err)
}

// Register implements storage.Registrar: the account, its primary identity
// and its first session in one statement, so one round trip and one commit.
// A new account has no other session to replace, and no concurrent write can
// reach it before the commit: the account's lock that CreateSession takes is
// not needed.
func (s *Store) Register(ctx context.Context, a storage.Account, ss storage.Session) error {
	p := a.Purchases
	_, err := s.pool.Exec(ctx, s.q(`WITH a AS (
			INSERT INTO gameauth_accounts (`+accountCols+`, nickname_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
			RETURNING id, linked_type, linked_id, created_at),
		i AS (
			INSERT INTO gameauth_identities (type, subject, account_id, linked_at)
			SELECT linked_type, linked_id, id, created_at FROM a)
		INSERT INTO gameauth_sessions (`+sessionCols+`)
		SELECT $18, a.id, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30 FROM a`),
		a.ID, a.OpenID, a.LinkedType, a.LinkedID, a.PasswordHash, a.Nickname, a.Country, a.Timezone,
		p.Count, p.CurrencyCode, p.TotalPrice, p.VoidedCount, p.VoidedCurrencyCode, p.VoidedTotalPrice,
		tsArg(a.CreatedAt), tsArg(a.UpdatedAt), storage.NicknameKey(a.Nickname),
		ss.ID, ss.DeviceID, ss.Platform, tsArg(ss.CreatedAt), tsArg(ss.ExpiresAt),
		bytesArg(ss.RefreshHash), bytesArg(ss.PrevRefreshHash), ss.Generation, tsArg(ss.RotatedAt),
		tsArg(ss.RevokedAt), string(ss.RevokeReason), ss.ClientAddr, ss.DeviceModel)
	return wrap("register", err)
}

// GetAccount implements storage.Accounts.
func (s *Store) GetAccount(ctx context.Context, id string) (storage.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, s.q(`SELECT `+accountCols+` FROM gameauth_accounts WHERE id = $1`), id))
	return a, wrap("get account", err)
}

// GetAccountByLink implements storage.Accounts: by any of the account's
// identities, a probe of the identities' primary key, then of the
// accounts'.
func (s *Store) GetAccountByLink(ctx context.Context, linkType, linkID string) (storage.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, s.q(`SELECT `+prefixed("a.", accountCols)+`
		FROM gameauth_identities i JOIN gameauth_accounts a ON a.id = i.account_id
		WHERE i.type = $1 AND i.subject = $2`), linkType, linkID))
	return a, wrap("get account by link", err)
}

// GetAccountByNickname implements storage.Accounts.
func (s *Store) GetAccountByNickname(ctx context.Context, nickname string) (storage.Account, error) {
	key := storage.NicknameKey(nickname)
	if key == "" {
		return storage.Account{}, storage.ErrNotFound
	}
	a, err := scanAccount(s.pool.QueryRow(ctx, s.q(`SELECT `+accountCols+` FROM gameauth_accounts
		WHERE nickname_key = $1 AND nickname_key <> ''`), key))
	return a, wrap("get account by nickname", err)
}

// UpdateAccount implements storage.Accounts. Without a Link it is one
// UPDATE, so it is all or nothing; a new Link replaces the primary identity
// in the same transaction as the UPDATE, which holds the account's row lock
// from its first statement.
func (s *Store) UpdateAccount(ctx context.Context, id string, u storage.AccountUpdate) error {
	var set []string
	args := []any{id}
	add := func(col string, v any) {
		args = append(args, v)
		set = append(set, col+" = $"+strconv.Itoa(len(args)))
	}
	if u.Nickname != nil {
		add("nickname", *u.Nickname)
		add("nickname_key", storage.NicknameKey(*u.Nickname))
	}
	if u.Link != nil {
		add("linked_type", u.Link.Type)
		add("linked_id", u.Link.ID)
	}
	if u.PasswordHash != nil {
		add("password_hash", *u.PasswordHash)
	}
	if p := u.Purchases; p != nil {
		add("purchase_count", p.Count)
		add("purchase_currency", p.CurrencyCode)
		add("purchase_total", p.TotalPrice)
		add("voided_count", p.VoidedCount)
		add("voided_currency", p.VoidedCurrencyCode)
		add("voided_total", p.VoidedTotalPrice)
	}
	if u.Country != nil {
		add("country", *u.Country)
	}
	if u.Timezone != nil {
		add("timezone", *u.Timezone)
	}
	add("updated_at", tsArg(u.At))
	update := s.q(`UPDATE gameauth_accounts SET ` + strings.Join(set, ", ") + ` WHERE id = $1`)
	if u.Link == nil {
		tag, err := s.pool.Exec(ctx, update, args...)
		return wrap("update account", rowsAffected(tag, err))
	}
	// The account's row, with its link, is written before the new
	// identity, in the order CreateAccount writes them: a first sign-in
	// and a link change racing for one identity then wait for each other
	// in one direction only, never in a cycle that PostgreSQL would break
	// by failing one of them.
	err := s.tx(ctx, func(tx pgx.Tx) error {
		cur, err := s.lockAccount(ctx, tx, id)
		if err != nil {
			return err
		}
		if u.IfLink != nil && cur != *u.IfLink {
			return storage.Conflict(storage.FieldState)
		}
		changed := cur != *u.Link
		if changed {
			if _, err := tx.Exec(ctx, s.q(`DELETE FROM gameauth_identities WHERE account_id = $1 AND type = $2 AND subject = $3`),
				id, cur.Type, cur.ID); err != nil {
				return err
			}
			s.wrote(ctx, tx)
		}
		tag, err := tx.Exec(ctx, update, args...)
		if err := rowsAffected(tag, err); err != nil || !changed {
			return err
		}
		return s.insertIdentity(ctx, tx, id, storage.Identity{Type: u.Link.Type, Subject: u.Link.ID, LinkedAt: u.At})
	})
	return wrap("update account", err)
}

// DeleteAccount implements storage.Accounts, and removes the account's
// identities with it. The second DELETE is a statement of its own: under
// READ COMMITTED it sees an identity linked by a transaction that held the
// account's row lock until the first DELETE took it.
func (s *Store) DeleteAccount(ctx context.Context, id string) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, s.q(`DELETE FROM gameauth_accounts WHERE id = $1`), id)
		if err := rowsAffected(tag, err); err != nil {
			return err
		}
		s.wrote(ctx, tx)
		_, err = tx.Exec(ctx, s.q(`DELETE FROM gameauth_identities WHERE account_id = $1`), id)
		return err
	})
	return wrap("delete account", err)
}
