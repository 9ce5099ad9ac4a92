package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gameauth/gameauth/storage"
)

const withdrawalCols = `account_id, key_hash, memo, requested_at, deadline, purged_at`

func scanWithdrawal(sc scanner) (storage.Withdrawal, error) {
	var w storage.Withdrawal
	err := sc.Scan(&w.AccountID, blob{&w.KeyHash}, &w.Memo, tm{&w.RequestedAt}, tm{&w.Deadline}, tm{&w.PurgedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Withdrawal{}, storage.ErrNotFound
	}
	return w, err
}

// Withdraw implements storage.Withdrawals.
func (s *Store) Withdraw(ctx context.Context, w storage.Withdrawal) ([]string, error) {
	var revoked []string
	err := s.tx(ctx, func(tx wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO withdrawals (`+withdrawalCols+`) VALUES (?, ?, ?, ?, ?, NULL)`,
			w.AccountID, w.KeyHash, w.Memo, micros(w.RequestedAt), micros(w.Deadline))
		if isUnique(err) {
			pending, err := exists(ctx, tx, `SELECT 1 FROM withdrawals WHERE account_id = ? AND purged_at IS NULL`, w.AccountID)
			if err != nil {
				return err
			}
			if pending {
				return storage.Conflict(storage.FieldState)
			}
			return storage.Conflict(storage.FieldID)
		}
		if err != nil {
			return err
		}
		revoked, err = revokeAll(ctx, tx, w.AccountID, "", storage.ReasonWithdrawn, w.RequestedAt)
		return err
	})
	if err != nil {
		return nil, wrap("withdraw", err)
	}
	return revoked, nil
}

// GetWithdrawal implements storage.Withdrawals.
func (s *Store) GetWithdrawal(ctx context.Context, keyHash []byte) (storage.Withdrawal, error) {
	w, err := scanWithdrawal(s.r.QueryRowContext(ctx, `SELECT `+withdrawalCols+` FROM withdrawals
		WHERE key_hash = ?`, keyHash))
	return w, wrap("get withdrawal", err)
}

// GetAccountWithdrawal implements storage.Withdrawals.
func (s *Store) GetAccountWithdrawal(ctx context.Context, accountID string) (storage.Withdrawal, error) {
	w, err := scanWithdrawal(s.r.QueryRowContext(ctx, `SELECT `+withdrawalCols+` FROM withdrawals
		WHERE account_id = ? AND purged_at IS NULL`, accountID))
	return w, wrap("get account withdrawal", err)
}

// Restore implements storage.Withdrawals.
func (s *Store) Restore(ctx context.Context, keyHash []byte, now time.Time) (storage.Withdrawal, error) {
	var w storage.Withdrawal
	err := s.tx(ctx, func(tx wtx) error {
		var err error
		w, err = scanWithdrawal(tx.QueryRowContext(ctx, `SELECT `+withdrawalCols+` FROM withdrawals
			WHERE key_hash = ?`, keyHash))
		if err != nil {
			return err
		}
		if !w.PurgedAt.IsZero() || !now.Before(w.Deadline) {
			return storage.ErrWithdrawalExpired
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM withdrawals WHERE key_hash = ?`, keyHash)
		return err
	})
	if err != nil {
		return storage.Withdrawal{}, wrap("restore", err)
	}
	return w, nil
}

// DueWithdrawals implements storage.Withdrawals.
func (s *Store) DueWithdrawals(ctx context.Context, now time.Time, limit int) ([]storage.Withdrawal, error) {
	if limit <= 0 {
		return nil, nil
	}
	ws, err := queryList(ctx, s.r, scanWithdrawal, `SELECT `+withdrawalCols+` FROM withdrawals
		WHERE purged_at IS NULL AND deadline <= ? ORDER BY deadline, rowid LIMIT ?`, now.UnixMicro(), limit)
	return ws, wrap("due withdrawals", err)
}

// MarkPurged implements storage.Withdrawals. The tombstone keeps only the
// key hash, the deadline and when it was purged.
func (s *Store) MarkPurged(ctx context.Context, accountID string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE withdrawals
		SET purged_at = ?, account_id = '', memo = '', requested_at = NULL
		WHERE account_id = ? AND purged_at IS NULL`, micros(now), accountID)
	return wrap("mark purged", rowsAffected(res, err))
}

// DeleteTombstones implements storage.Withdrawals.
func (s *Store) DeleteTombstones(ctx context.Context, before time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM withdrawals WHERE purged_at IS NOT NULL AND deadline < ?`,
		before.UnixMicro())
	if err != nil {
		return 0, wrap("delete tombstones", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("delete tombstones", err)
}
