package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gameauth/gameauth/storage"
)

const withdrawalCols = `account_id, key_hash, memo, requested_at, deadline, purged_at`

func scanWithdrawal(r pgx.Row) (storage.Withdrawal, error) {
	var w storage.Withdrawal
	err := r.Scan(&w.AccountID, &w.KeyHash, &w.Memo, ts{&w.RequestedAt}, ts{&w.Deadline}, ts{&w.PurgedAt})
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Withdrawal{}, storage.ErrNotFound
	}
	return w, err
}

// Withdraw implements storage.Withdrawals: the withdrawal and the revocation
// of the account's sessions commit together, under the account's advisory
// lock (the one CreateSession takes), so no session created meanwhile
// survives it.
func (s *Store) Withdraw(ctx context.Context, w storage.Withdrawal) ([]string, error) {
	var revoked []string
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := s.lock(ctx, tx, "account "+w.AccountID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.q(`INSERT INTO gameauth_withdrawals (`+withdrawalCols+`)
			VALUES ($1, $2, $3, $4, $5, NULL)`),
			w.AccountID, w.KeyHash, w.Memo, tsArg(w.RequestedAt), tsArg(w.Deadline)); err != nil {
			return err
		}
		s.wrote(ctx, tx)
		var err error
		revoked, err = s.revokeAll(ctx, tx, w.AccountID, "", storage.ReasonWithdrawn, w.RequestedAt)
		return err
	})
	if err != nil {
		return nil, wrap("withdraw", err)
	}
	return revoked, nil
}

// GetWithdrawal implements storage.Withdrawals.
func (s *Store) GetWithdrawal(ctx context.Context, keyHash []byte) (storage.Withdrawal, error) {
	w, err := scanWithdrawal(s.pool.QueryRow(ctx, s.q(`SELECT `+withdrawalCols+` FROM gameauth_withdrawals
		WHERE key_hash = $1`), keyHash))
	return w, wrap("get withdrawal", err)
}

// GetAccountWithdrawal implements storage.Withdrawals.
func (s *Store) GetAccountWithdrawal(ctx context.Context, accountID string) (storage.Withdrawal, error) {
	w, err := scanWithdrawal(s.pool.QueryRow(ctx, s.q(`SELECT `+withdrawalCols+` FROM gameauth_withdrawals
		WHERE account_id = $1 AND purged_at IS NULL`), accountID))
	return w, wrap("get account withdrawal", err)
}

// Restore implements storage.Withdrawals: one conditional DELETE; only when
// it finds nothing does a second look tell unknown from expired.
func (s *Store) Restore(ctx context.Context, keyHash []byte, now time.Time) (storage.Withdrawal, error) {
	w, err := scanWithdrawal(s.pool.QueryRow(ctx, s.q(`DELETE FROM gameauth_withdrawals
		WHERE key_hash = $1 AND purged_at IS NULL AND deadline > $2
		RETURNING `+withdrawalCols), keyHash, now))
	if errors.Is(err, storage.ErrNotFound) {
		if _, err = s.GetWithdrawal(ctx, keyHash); err == nil {
			err = storage.ErrWithdrawalExpired
		}
	}
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
	ws, err := collect(ctx, s.pool, scanWithdrawal, s.q(`SELECT `+withdrawalCols+` FROM gameauth_withdrawals
		WHERE purged_at IS NULL AND deadline <= $1 ORDER BY deadline, seq LIMIT $2`), now, limit)
	return ws, wrap("due withdrawals", err)
}

// MarkPurged implements storage.Withdrawals. The tombstone keeps only the
// key hash, the deadline and when it was purged.
func (s *Store) MarkPurged(ctx context.Context, accountID string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, s.q(`UPDATE gameauth_withdrawals
		SET purged_at = $1, account_id = '', memo = '', requested_at = NULL
		WHERE account_id = $2 AND purged_at IS NULL`), tsArg(now), accountID)
	return wrap("mark purged", rowsAffected(tag, err))
}

// DeleteTombstones implements storage.Withdrawals.
func (s *Store) DeleteTombstones(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, s.q(`DELETE FROM gameauth_withdrawals WHERE purged_at IS NOT NULL AND deadline < $1`), before)
	if err != nil {
		return 0, wrap("delete tombstones", err)
	}
	return int(tag.RowsAffected()), nil
}
