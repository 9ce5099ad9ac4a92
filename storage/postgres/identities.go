package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gameauth/gameauth/storage"
)

var _ storage.Identities = (*Store)(nil)

// Every write to an account's identities (LinkIdentity, UnlinkIdentity,
// UpdateAccount with a Link, DeleteAccount) first locks the account's row,
// and reads the identities only in statements after that: under READ
// COMMITTED each statement sees what the previous holder of the lock
// committed, so two unlinks cannot both count on an identity the other
// removes, and a link cannot outlive its account's deletion. Uniqueness
// across accounts is the table's keys'.

func scanIdentity(r pgx.Row) (storage.Identity, error) {
	var i storage.Identity
	err := r.Scan(&i.Type, &i.Subject, ts{&i.LinkedAt})
	return i, err
}

// ListIdentities implements storage.Identities.
func (s *Store) ListIdentities(ctx context.Context, accountID string) ([]storage.Identity, error) {
	ids, err := collect(ctx, s.pool, scanIdentity, s.q(`SELECT type, subject, linked_at FROM gameauth_identities
		WHERE account_id = $1 ORDER BY linked_at, seq`), accountID)
	return ids, wrap("list identities", err)
}

// LinkIdentity implements storage.Identities.
func (s *Store) LinkIdentity(ctx context.Context, accountID string, id storage.Identity) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := s.lockAccount(ctx, tx, accountID); err != nil {
			return err
		}
		return s.insertIdentity(ctx, tx, accountID, id)
	})
	return wrap("link identity", err)
}

// UnlinkIdentity implements storage.Identities.
func (s *Store) UnlinkIdentity(ctx context.Context, accountID, linkType string, promote *storage.Link, at time.Time) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		cur, err := s.lockAccount(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if linkType != cur.Type {
			tag, err := tx.Exec(ctx, s.q(`DELETE FROM gameauth_identities WHERE account_id = $1 AND type = $2`), accountID, linkType)
			return rowsAffected(tag, err)
		}
		if promote == nil || *promote == cur {
			return storage.Conflict(storage.FieldState)
		}
		// The promoted identity must be the account's: then the primary
		// one goes and the account points at the promoted one, in one
		// statement.
		tag, err := tx.Exec(ctx, s.q(`WITH p AS (
				SELECT 1 FROM gameauth_identities WHERE account_id = $1 AND type = $3 AND subject = $4
			), d AS (
				DELETE FROM gameauth_identities WHERE account_id = $1 AND type = $2 AND EXISTS (SELECT 1 FROM p)
			)
			UPDATE gameauth_accounts SET linked_type = $3, linked_id = $4, updated_at = $5
			WHERE id = $1 AND EXISTS (SELECT 1 FROM p)`),
			accountID, linkType, promote.Type, promote.ID, tsArg(at))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return storage.Conflict(storage.FieldState)
		}
		return nil
	})
	return wrap("unlink identity", err)
}

// lockAccount takes the account's row lock in tx and returns its primary
// identity, or ErrNotFound.
func (s *Store) lockAccount(ctx context.Context, tx pgx.Tx, accountID string) (storage.Link, error) {
	var l storage.Link
	err := tx.QueryRow(ctx, s.q(`SELECT linked_type, linked_id FROM gameauth_accounts WHERE id = $1 FOR UPDATE`),
		accountID).Scan(&l.Type, &l.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, storage.ErrNotFound
	}
	return l, err
}

// insertIdentity adds id to the account, whose row lock tx holds. A taken
// identity (by any account, this one included) is ConflictError{FieldLink};
// another identity of its type on the account,
// ConflictError{FieldIdentityType}. Both keys may be at fault at once (the
// account has the very identity), so the conflict is named by looking,
// not by the first key PostgreSQL happened to check.
func (s *Store) insertIdentity(ctx context.Context, tx pgx.Tx, accountID string, id storage.Identity) error {
	tag, err := tx.Exec(ctx, s.q(`INSERT INTO gameauth_identities (type, subject, account_id, linked_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`), id.Type, id.Subject, accountID, tsArg(id.LinkedAt))
	if err != nil || tag.RowsAffected() == 1 {
		return err
	}
	// The conflicting row was committed (ON CONFLICT waited for it), so
	// this statement, with a newer snapshot, sees it, unless it was
	// removed since: then it can only have been another account's, as
	// this account's identities are under its lock.
	var typeHeld bool
	if err := tx.QueryRow(ctx, s.q(`SELECT EXISTS (SELECT 1 FROM gameauth_identities WHERE account_id = $1 AND type = $2)
			AND NOT EXISTS (SELECT 1 FROM gameauth_identities WHERE type = $2 AND subject = $3)`),
		accountID, id.Type, id.Subject).Scan(&typeHeld); err != nil {
		return err
	}
	if typeHeld {
		return storage.Conflict(storage.FieldIdentityType)
	}
	return storage.Conflict(storage.FieldLink)
}
