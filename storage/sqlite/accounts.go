package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

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
		&p.VoidedCurrencyCode, &p.VoidedTotalPrice, tm{&a.CreatedAt}, tm{&a.UpdatedAt}}
}

func scanAccount(sc scanner) (storage.Account, error) {
	var a storage.Account
	err := sc.Scan(accountDest(&a)...)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Account{}, storage.ErrNotFound
	}
	return a, err
}

// CreateAccount implements storage.Accounts.
func (s *Store) CreateAccount(ctx context.Context, a storage.Account) error {
	return wrap("create account", s.tx(ctx, func(tx wtx) error { return insertAccount(ctx, tx, a) }))
}

// insertAccount writes a new account and its primary identity in tx.
func insertAccount(ctx context.Context, tx wtx, a storage.Account) error {
	p := a.Purchases
	_, err := tx.ExecContext(ctx, `INSERT INTO accounts (`+accountCols+`, nickname_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.OpenID, a.LinkedType, a.LinkedID, a.PasswordHash, a.Nickname, a.Country, a.Timezone,
		p.Count, p.CurrencyCode, p.TotalPrice, p.VoidedCount, p.VoidedCurrencyCode, p.VoidedTotalPrice,
		micros(a.CreatedAt), micros(a.UpdatedAt), storage.NicknameKey(a.Nickname))
	if isUnique(err) {
		return accountConflict(ctx, tx, "", a.LinkedType, a.LinkedID, storage.NicknameKey(a.Nickname), a.ID)
	}
	if err != nil {
		return err
	}
	return insertIdentity(ctx, tx, a.ID, storage.Identity{Type: a.LinkedType, Subject: a.LinkedID, LinkedAt: a.CreatedAt})
}

// Register implements storage.Registrar: the account, its primary identity
// and its first session in one transaction.
func (s *Store) Register(ctx context.Context, a storage.Account, ss storage.Session) error {
	err := s.tx(ctx, func(tx wtx) error {
		if err := insertAccount(ctx, tx, a); err != nil {
			return err
		}
		_, err := insertSession(ctx, tx, ss, 0)
		return err
	})
	return wrap("register", err)
}

// accountConflict names the unique field a write to account self collided
// on (self is "" for an insert, whose id is then checked too). It runs in
// the failed statement's transaction, which holds the write lock, so what it
// reads is what the statement saw.
func accountConflict(ctx context.Context, tx wtx, self, linkType, linkID, nickKey, id string) error {
	if linkType != "" || linkID != "" {
		taken, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE linked_type = ? AND linked_id = ? AND id <> ?`,
			linkType, linkID, self)
		if err != nil {
			return err
		}
		if taken {
			return storage.Conflict(storage.FieldLink)
		}
	}
	if nickKey != "" {
		taken, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE nickname_key = ? AND id <> ?`, nickKey, self)
		if err != nil {
			return err
		}
		if taken {
			return storage.Conflict(storage.FieldNickname)
		}
	}
	if self == "" {
		taken, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if taken {
			return storage.Conflict(storage.FieldID)
		}
	}
	return storage.ErrConflict
}

// GetAccount implements storage.Accounts.
func (s *Store) GetAccount(ctx context.Context, id string) (storage.Account, error) {
	a, err := scanAccount(s.r.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
	return a, wrap("get account", err)
}

// GetAccountByLink implements storage.Accounts: by any of the account's
// identities, a probe of the identities' primary key, then of the
// accounts'. Prepared once, it takes about 1.05 of GetAccount's time
// (BenchmarkAccountLookup).
func (s *Store) GetAccountByLink(ctx context.Context, linkType, linkID string) (storage.Account, error) {
	a, err := scanAccount(s.r.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts
		WHERE id = (SELECT account_id FROM identities WHERE type = ? AND subject = ?)`, linkType, linkID))
	return a, wrap("get account by link", err)
}

// GetAccountByNickname implements storage.Accounts.
func (s *Store) GetAccountByNickname(ctx context.Context, nickname string) (storage.Account, error) {
	key := storage.NicknameKey(nickname)
	if key == "" {
		return storage.Account{}, storage.ErrNotFound
	}
	a, err := scanAccount(s.r.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts
		WHERE nickname_key = ?`, key))
	return a, wrap("get account by nickname", err)
}

// UpdateAccount implements storage.Accounts. A new link replaces the
// account's primary identity in the same transaction. The UPDATE is built
// at run time, so it runs unprepared.
func (s *Store) UpdateAccount(ctx context.Context, id string, u storage.AccountUpdate) error {
	var set []string
	var args []any
	add := func(col string, v any) {
		set = append(set, col+" = ?")
		args = append(args, v)
	}
	nickKey := ""
	if u.Nickname != nil {
		nickKey = storage.NicknameKey(*u.Nickname)
		add("nickname", *u.Nickname)
		add("nickname_key", nickKey)
	}
	var linkType, linkID string
	if u.Link != nil {
		linkType, linkID = u.Link.Type, u.Link.ID
		add("linked_type", linkType)
		add("linked_id", linkID)
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
	add("updated_at", micros(u.At))
	args = append(args, id)
	err := s.tx(ctx, func(tx wtx) error {
		if u.Link != nil {
			if err := replacePrimary(ctx, tx, id, *u.Link, u.IfLink, u.At); err != nil {
				return err
			}
		}
		res, err := tx.raw.ExecContext(ctx, `UPDATE accounts SET `+strings.Join(set, ", ")+` WHERE id = ?`, args...)
		if isUnique(err) {
			if u.Link == nil {
				// Not checking a link that is not changing.
				linkType, linkID = "", ""
			}
			return accountConflict(ctx, tx, id, linkType, linkID, nickKey, id)
		}
		return rowsAffected(res, err)
	})
	return wrap("update account", err)
}

// replacePrimary makes link the account's primary identity in tx, linked
// at at, in place of the one it had (which must be ifLink, if set);
// keeping the same one changes nothing.
func replacePrimary(ctx context.Context, tx wtx, accountID string, link storage.Link, ifLink *storage.Link, at time.Time) error {
	cur, err := primaryLink(ctx, tx, accountID)
	if err == nil && ifLink != nil && cur != *ifLink {
		err = storage.Conflict(storage.FieldState)
	}
	if err != nil || cur == link {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM identities WHERE account_id = ? AND type = ? AND subject = ?`,
		accountID, cur.Type, cur.ID); err != nil {
		return err
	}
	return insertIdentity(ctx, tx, accountID, storage.Identity{Type: link.Type, Subject: link.ID, LinkedAt: at})
}

// DeleteAccount implements storage.Accounts, and removes the account's
// identities with it.
func (s *Store) DeleteAccount(ctx context.Context, id string) error {
	err := s.tx(ctx, func(tx wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE id = ?`, id)
		if err := rowsAffected(res, err); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM identities WHERE account_id = ?`, id)
		return err
	})
	return wrap("delete account", err)
}
