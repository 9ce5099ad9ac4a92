package main

// This file is the adapter: storage.Accounts on the game's users table.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// addColumns are what gameauth needs beyond the game's own columns. The
// game's columns it shares are id (Account.ID), email (mirrors the linked
// address of an email account), display_name (Nickname), password_hash and
// created_at.
var addColumns = []string{
	`ALTER TABLE users ADD COLUMN open_id      TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE users ADD COLUMN linked_type  TEXT NOT NULL DEFAULT ''`, // '': no sign-in identity
	`ALTER TABLE users ADD COLUMN linked_id    TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE users ADD COLUMN nickname_key TEXT NOT NULL DEFAULT ''`, // storage.NicknameKey(display_name)
	`ALTER TABLE users ADD COLUMN country      TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE users ADD COLUMN timezone     TEXT NOT NULL DEFAULT ''`,
	`ALTER TABLE users ADD COLUMN purchases    TEXT NOT NULL DEFAULT '{}'`, // storage.Purchases as JSON
	`ALTER TABLE users ADD COLUMN updated_at   TEXT`,
}

// addIndexes make links and case-folded nicknames unique, once the existing
// rows are filled in.
var addIndexes = []string{
	`CREATE UNIQUE INDEX users_link ON users (linked_type, linked_id) WHERE linked_type <> ''`,
	`CREATE UNIQUE INDEX users_nickname_key ON users (nickname_key) WHERE nickname_key <> ''`,
}

// timeLayout is SQLite's CURRENT_TIMESTAMP format ("2026-03-01 12:00:00",
// UTC) to the microsecond: the game's existing created_at values and the
// adapter's sort together, and SQLite's date functions read both.
const timeLayout = "2006-01-02 15:04:05.000000"

// userStore is storage.Accounts on the game's users table. It is safe for
// concurrent use.
//
// Every write runs in one transaction that begins IMMEDIATE (see
// openGameDB): it holds SQLite's write lock from its first statement, so
// checking that a link or nickname is free and then writing it is one step
// that no other writer can get between. The unique indexes back that up
// against writers that bypass the adapter.
type userStore struct {
	db *sql.DB
}

var _ storage.Accounts = (*userStore)(nil)

// newUserStore adds gameauth's columns to the users table, if it lacks them,
// and returns the adapter. db must come from openGameDB, or be opened with
// its DSN parameters.
func newUserStore(ctx context.Context, db *sql.DB) (*userStore, error) {
	u := &userStore{db: db}
	if err := u.tx(ctx, func(tx *sql.Tx) error { return migrate(ctx, tx) }); err != nil {
		return nil, fmt.Errorf("users: migrate: %w", err)
	}
	return u, nil
}

// migrate adds the columns and indexes, and fills them in for the players
// the game already has, all in one transaction: a failure leaves the table
// as it was. A real game would run this from its own migration tool; here
// the presence of open_id says it ran.
func migrate(ctx context.Context, tx *sql.Tx) error {
	var done bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pragma_table_info('users') WHERE name = 'open_id')`).
		Scan(&done); err != nil {
		return err
	}
	if done {
		return nil
	}
	for _, stmt := range addColumns {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}

	// Existing players: a public ID, their email as their sign-in identity
	// (normalized as gameauth does), and the key of their display name.
	// Their bcrypt hashes stay: gameauth answers INVALID_CREDENTIALS to
	// those, and the player sets a new password with /password/reset.
	type legacy struct {
		id, displayName string
		email           sql.NullString
	}
	var players []legacy
	rows, err := tx.QueryContext(ctx, `SELECT id, email, display_name FROM users`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var p legacy
		if err := rows.Scan(&p.id, &p.email, &p.displayName); err != nil {
			_ = rows.Close()
			return err
		}
		players = append(players, p)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	// The unique indexes below would refuse clashes among them; count them
	// first, for an error that says what to do.
	seen, clashes := map[string]bool{}, 0
	claim := func(v string) {
		if seen[v] {
			clashes++
		}
		seen[v] = true
	}
	for _, p := range players {
		linkType, linkID := "", ""
		if p.email.Valid {
			linkType, linkID = storage.LinkEmail, strings.ToLower(strings.TrimSpace(p.email.String))
			claim("email " + linkID)
		}
		if key := storage.NicknameKey(p.displayName); key != "" {
			claim("nickname " + key)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET open_id = ?, linked_type = ?, linked_id = ?,
			nickname_key = ?, updated_at = created_at WHERE id = ?`,
			strings.ToLower(rand.Text()), linkType, linkID, storage.NicknameKey(p.displayName), p.id); err != nil {
			return err
		}
	}

	if clashes > 0 {
		return fmt.Errorf("%d existing players share an email or a display name with another once case is ignored; "+
			"rename them, then start again", clashes)
	}
	for _, stmt := range addIndexes {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// emailColumn is the game's email column for a link: the address of an
// email link, NULL for any other, so the game's own code that looks players
// up by email keeps working.
func emailColumn(linkType, linkID string) any {
	if linkType == storage.LinkEmail {
		return linkID
	}
	return nil
}

// nullIfEmpty stores "" as NULL, the game's way of saying "none".
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// formatTime writes t in the game's time format, in UTC. The zero time
// becomes "0001-01-01 00:00:00.000000", which reads back as the zero time.
func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// textTime scans a time column: text in the game's format (with or without
// the fraction), or NULL for the zero time.
type textTime struct{ t *time.Time }

// Scan implements sql.Scanner.
func (d textTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*d.t = time.Time{}
		return nil
	case string:
		t, err := time.Parse(time.DateTime, v) // accepts a fraction after the seconds
		if err != nil {
			return fmt.Errorf("users: time column: %w", err)
		}
		*d.t = t
		return nil
	default:
		return fmt.Errorf("users: time column holds %T", v)
	}
}

// jsonPurchases scans the purchases column.
type jsonPurchases struct{ p *storage.Purchases }

// Scan implements sql.Scanner.
func (d jsonPurchases) Scan(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("users: purchases column holds %T", v)
	}
	return json.Unmarshal([]byte(s), d.p)
}

func purchasesColumn(p storage.Purchases) (string, error) {
	b, err := json.Marshal(p)
	return string(b), err
}

const accountColumns = `id, open_id, linked_type, linked_id, COALESCE(password_hash, ''), display_name,
	country, timezone, purchases, created_at, updated_at`

func scanAccount(row *sql.Row) (storage.Account, error) {
	var a storage.Account
	err := row.Scan(&a.ID, &a.OpenID, &a.LinkedType, &a.LinkedID, &a.PasswordHash, &a.Nickname,
		&a.Country, &a.Timezone, jsonPurchases{&a.Purchases}, textTime{&a.CreatedAt}, textTime{&a.UpdatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Account{}, storage.ErrNotFound
	}
	return a, err
}

// CreateAccount implements storage.Accounts. The game's own columns it does
// not know (gold, level) get the game's defaults.
func (u *userStore) CreateAccount(ctx context.Context, a storage.Account) error {
	purchases, err := purchasesColumn(a.Purchases)
	if err != nil {
		return wrap("create account", err)
	}
	err = u.tx(ctx, func(tx *sql.Tx) error {
		link := &storage.Link{Type: a.LinkedType, ID: a.LinkedID}
		if err := checkFree(ctx, tx, "", link, storage.NicknameKey(a.Nickname)); err != nil {
			return err
		}
		if taken, err := exists(ctx, tx, `SELECT 1 FROM users WHERE id = ?`, a.ID); err != nil {
			return err
		} else if taken {
			return storage.Conflict(storage.FieldID)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, display_name, password_hash, created_at,
				open_id, linked_type, linked_id, nickname_key, country, timezone, purchases, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, emailColumn(a.LinkedType, a.LinkedID), a.Nickname, nullIfEmpty(a.PasswordHash), formatTime(a.CreatedAt),
			a.OpenID, a.LinkedType, a.LinkedID, storage.NicknameKey(a.Nickname), a.Country, a.Timezone, purchases, formatTime(a.UpdatedAt))
		return err
	})
	return wrap("create account", err)
}

// checkFree returns ConflictError{FieldLink} when another row than self
// ("" for a new row) holds link, else ConflictError{FieldNickname} when
// another holds nickKey. A nil link or an empty key is not checked.
func checkFree(ctx context.Context, tx *sql.Tx, self string, link *storage.Link, nickKey string) error {
	if link != nil {
		taken, err := exists(ctx, tx, `SELECT 1 FROM users WHERE linked_type = ? AND linked_id = ? AND id <> ?`,
			link.Type, link.ID, self)
		if err != nil {
			return err
		}
		if taken {
			return storage.Conflict(storage.FieldLink)
		}
	}
	if nickKey != "" {
		taken, err := exists(ctx, tx, `SELECT 1 FROM users WHERE nickname_key = ? AND id <> ?`, nickKey, self)
		if err != nil {
			return err
		}
		if taken {
			return storage.Conflict(storage.FieldNickname)
		}
	}
	return nil
}

// GetAccount implements storage.Accounts.
func (u *userStore) GetAccount(ctx context.Context, id string) (storage.Account, error) {
	a, err := scanAccount(u.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM users WHERE id = ?`, id))
	return a, wrap("get account", err)
}

// GetAccountByLink implements storage.Accounts.
func (u *userStore) GetAccountByLink(ctx context.Context, linkType, linkID string) (storage.Account, error) {
	a, err := scanAccount(u.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM users
		WHERE linked_type = ? AND linked_id = ? AND linked_type <> ''`, linkType, linkID))
	return a, wrap("get account by link", err)
}

// GetAccountByNickname implements storage.Accounts.
func (u *userStore) GetAccountByNickname(ctx context.Context, nickname string) (storage.Account, error) {
	key := storage.NicknameKey(nickname)
	if key == "" {
		return storage.Account{}, storage.ErrNotFound
	}
	a, err := scanAccount(u.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM users WHERE nickname_key = ?`, key))
	return a, wrap("get account by nickname", err)
}

// UpdateAccount implements storage.Accounts: one UPDATE of the fields that
// are set, in the transaction that checked them, so it is all or nothing.
// The game's own columns are never in it.
func (u *userStore) UpdateAccount(ctx context.Context, id string, up storage.AccountUpdate) error {
	var set []string
	var args []any
	add := func(column string, v any) {
		set = append(set, column+" = ?")
		args = append(args, v)
	}
	nickKey := ""
	if up.Nickname != nil {
		nickKey = storage.NicknameKey(*up.Nickname)
		add("display_name", *up.Nickname)
		add("nickname_key", nickKey)
	}
	if l := up.Link; l != nil {
		add("linked_type", l.Type)
		add("linked_id", l.ID)
		add("email", emailColumn(l.Type, l.ID))
	}
	if up.PasswordHash != nil {
		add("password_hash", nullIfEmpty(*up.PasswordHash))
	}
	if up.Purchases != nil {
		purchases, err := purchasesColumn(*up.Purchases)
		if err != nil {
			return wrap("update account", err)
		}
		add("purchases", purchases)
	}
	if up.Country != nil {
		add("country", *up.Country)
	}
	if up.Timezone != nil {
		add("timezone", *up.Timezone)
	}
	add("updated_at", formatTime(up.At))
	args = append(args, id)

	err := u.tx(ctx, func(tx *sql.Tx) error {
		if up.Link != nil && up.IfLink != nil {
			var cur storage.Link
			err := tx.QueryRowContext(ctx, `SELECT linked_type, linked_id FROM users WHERE id = ?`, id).Scan(&cur.Type, &cur.ID)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return storage.ErrNotFound
			case err != nil:
				return err
			case cur != *up.IfLink:
				return storage.Conflict(storage.FieldState) // another link got there first
			}
		}
		if err := checkFree(ctx, tx, id, up.Link, nickKey); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET `+strings.Join(set, ", ")+` WHERE id = ?`, args...)
		return rowsAffected(res, err)
	})
	return wrap("update account", err)
}

// DeleteAccount implements storage.Accounts. gameauth deletes an account
// when its withdrawal's grace period is over, or to take back a sign-up
// that failed halfway: the player is gone, so the game's row goes too.
func (u *userStore) DeleteAccount(ctx context.Context, id string) error {
	res, err := u.db.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
	return wrap("delete account", rowsAffected(res, err))
}

// rowsAffected returns storage.ErrNotFound when the statement that returned
// res changed no row (no such user), and err otherwise.
func rowsAffected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		return storage.ErrNotFound
	}
	return err
}

// tx runs fn in a write transaction and commits it if fn returns nil. Any
// error, a cancelled ctx included, rolls everything back.
func (u *userStore) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := u.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// exists reports whether query returns a row.
func exists(ctx context.Context, tx *sql.Tx, query string, args ...any) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// wrap passes the storage sentinels through and marks anything else as a
// store failure. Errors name the operation, never the values (a password
// hash must not reach a log).
func wrap(op string, err error) error {
	if err == nil || errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict) {
		return err
	}
	return fmt.Errorf("users: %s: %w", op, err)
}
