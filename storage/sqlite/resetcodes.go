package sqlite

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// resetWindow is the span CreateResetCode's maxPerDay counts over.
const resetWindow = 24 * time.Hour

// CreateResetCode implements storage.ResetCodes. Earlier codes stay as rows
// (spent) for the daily count until they fall out of the window.
func (s *Store) CreateResetCode(ctx context.Context, c storage.ResetCode, maxPerDay int) error {
	from := c.CreatedAt.Add(-resetWindow).UnixMicro()
	err := s.tx(ctx, func(tx wtx) error {
		if maxPerDay > 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM reset_codes
				WHERE email = ? AND created_at > ? AND created_at <= ?`,
				c.Email, from, c.CreatedAt.UnixMicro()).Scan(&n); err != nil {
				return err
			}
			if n >= maxPerDay {
				return storage.ErrLimited
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE reset_codes SET spent = 1 WHERE email = ? AND spent = 0`,
			c.Email); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM reset_codes WHERE email = ? AND created_at <= ?`,
			c.Email, from); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO reset_codes (email, code_hash, created_at, expires_at)
			VALUES (?, ?, ?, ?)`, c.Email, c.CodeHash, c.CreatedAt.UnixMicro(), c.ExpiresAt.UnixMicro())
		return err
	})
	return wrap("create reset code", err)
}

// ConsumeResetCode implements storage.ResetCodes.
func (s *Store) ConsumeResetCode(ctx context.Context, email string, codeHash []byte, now time.Time, maxAttempts int) error {
	mismatch := false
	err := s.tx(ctx, func(tx wtx) error {
		var (
			seq      int64
			hash     []byte
			expires  int64
			attempts int
		)
		err := tx.QueryRowContext(ctx, `SELECT seq, code_hash, expires_at, attempts FROM reset_codes
			WHERE email = ? AND spent = 0 ORDER BY seq DESC LIMIT 1`, email).Scan(&seq, &hash, &expires, &attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return storage.ErrNotFound
		}
		if err != nil {
			return err
		}
		if now.UnixMicro() >= expires {
			return storage.ErrNotFound
		}
		if subtle.ConstantTimeCompare(hash, codeHash) == 1 {
			_, err := tx.ExecContext(ctx, `UPDATE reset_codes SET spent = 1 WHERE seq = ?`, seq)
			return err
		}
		attempts++
		spent := maxAttempts > 0 && attempts >= maxAttempts
		if _, err := tx.ExecContext(ctx, `UPDATE reset_codes SET attempts = ?, spent = ? WHERE seq = ?`,
			attempts, spent, seq); err != nil {
			return err
		}
		// Commit the attempt, then tell the caller no.
		mismatch = true
		return nil
	})
	if err == nil && mismatch {
		return storage.ErrNotFound
	}
	return wrap("consume reset code", err)
}
