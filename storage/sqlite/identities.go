package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gameauth/gameauth/storage"
)

var _ storage.Identities = (*Store)(nil)

func scanIdentity(sc scanner) (storage.Identity, error) {
	var i storage.Identity
	err := sc.Scan(&i.Type, &i.Subject, tm{&i.LinkedAt})
	return i, err
}

// ListIdentities implements storage.Identities.
func (s *Store) ListIdentities(ctx context.Context, accountID string) ([]storage.Identity, error) {
	ids, err := queryList(ctx, s.r, scanIdentity, `SELECT type, subject, linked_at FROM identities
		WHERE account_id = ? ORDER BY linked_at, rowid`, accountID)
	return ids, wrap("list identities", err)
}

// LinkIdentity implements storage.Identities.
func (s *Store) LinkIdentity(ctx context.Context, accountID string, id storage.Identity) error {
	err := s.tx(ctx, func(tx wtx) error {
		found, err := exists(ctx, tx, `SELECT 1 FROM accounts WHERE id = ?`, accountID)
		if err != nil {
			return err
		}
		if !found {
			return storage.ErrNotFound
		}
		return insertIdentity(ctx, tx, accountID, id)
	})
	return wrap("link identity", err)
}

// UnlinkIdentity implements storage.Identities. The transaction holds the
// write lock from its first statement, so the identity it promotes is still
// there when it writes.
func (s *Store) UnlinkIdentity(ctx context.Context, accountID, linkType string, promote *storage.Link, at time.Time) error {
	err := s.tx(ctx, func(tx wtx) error {
		cur, err := primaryLink(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if linkType != cur.Type {
			res, err := tx.ExecContext(ctx, `DELETE FROM identities WHERE account_id = ? AND type = ?`, accountID, linkType)
			return rowsAffected(res, err)
		}
		if promote == nil || *promote == cur {
			return storage.Conflict(storage.FieldState)
		}
		found, err := exists(ctx, tx, `SELECT 1 FROM identities WHERE account_id = ? AND type = ? AND subject = ?`,
			accountID, promote.Type, promote.ID)
		if err != nil {
			return err
		}
		if !found {
			return storage.Conflict(storage.FieldState)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM identities WHERE account_id = ? AND type = ?`, accountID, linkType); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET linked_type = ?, linked_id = ?, updated_at = ? WHERE id = ?`,
			promote.Type, promote.ID, micros(at), accountID)
		return err
	})
	return wrap("unlink identity", err)
}

// primaryLink reads the account's primary identity in tx, or ErrNotFound.
func primaryLink(ctx context.Context, tx wtx, accountID string) (storage.Link, error) {
	var l storage.Link
	err := tx.QueryRowContext(ctx, `SELECT linked_type, linked_id FROM accounts WHERE id = ?`, accountID).Scan(&l.Type, &l.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return l, storage.ErrNotFound
	}
	return l, err
}

// insertIdentity adds id to the account in tx. A taken identity (by any
// account, this one included) is ConflictError{FieldLink}; another identity
// of its type on the account, ConflictError{FieldIdentityType}.
func insertIdentity(ctx context.Context, tx wtx, accountID string, id storage.Identity) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO identities (type, subject, account_id, linked_at) VALUES (?, ?, ?, ?)`,
		id.Type, id.Subject, accountID, micros(id.LinkedAt))
	if !isUnique(err) {
		return err
	}
	taken, err := exists(ctx, tx, `SELECT 1 FROM identities WHERE type = ? AND subject = ?`, id.Type, id.Subject)
	if err != nil {
		return err
	}
	if taken {
		return storage.Conflict(storage.FieldLink)
	}
	return storage.Conflict(storage.FieldIdentityType)
}
