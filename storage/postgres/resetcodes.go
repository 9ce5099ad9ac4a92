package postgres

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gameauth/gameauth/storage"
)

// resetWindow is the span CreateResetCode's maxPerDay counts over.
const resetWindow = 24 * time.Hour

// CreateResetCode implements storage.ResetCodes, under the email's advisory
// lock so concurrent requests cannot both pass the count. Earlier codes stay
// as rows (spent) for the daily count until they fall out of the window.
func (s *Store) CreateResetCode(ctx context.Context, c storage.ResetCode, maxPerDay int) error {
	from := c.CreatedAt.Add(-resetWindow)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := s.lock(ctx, tx, "email "+c.Email); err != nil {
			return err
		}
		if maxPerDay > 0 {
			var n int
			if err := tx.QueryRow(ctx, s.q(`SELECT COUNT(*) FROM gameauth_reset_codes
				WHERE email = $1 AND created_at > $2 AND created_at <= $3`),
				c.Email, from, c.CreatedAt).Scan(&n); err != nil {
				return err
			}
			if n >= maxPerDay {
				return storage.ErrLimited
			}
		}
		if _, err := tx.Exec(ctx, s.q(`UPDATE gameauth_reset_codes SET spent = true
			WHERE email = $1 AND NOT spent`), c.Email); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, s.q(`DELETE FROM gameauth_reset_codes WHERE email = $1 AND created_at <= $2`),
			c.Email, from); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, s.q(`INSERT INTO gameauth_reset_codes (email, code_hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4)`), c.Email, c.CodeHash, c.CreatedAt, c.ExpiresAt)
		return err
	})
	return wrap("create reset code", err)
}

// ConsumeResetCode implements storage.ResetCodes. It holds the email's
// advisory lock while it judges the current code, so the code is used at
// most once and every attempt is counted.
func (s *Store) ConsumeResetCode(ctx context.Context, email string, codeHash []byte, now time.Time, maxAttempts int) error {
	mismatch := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		mismatch = false // tx may run this again
		if err := s.lock(ctx, tx, "email "+email); err != nil {
			return err
		}
		var (
			seq      int64
			hash     []byte
			expires  time.Time
			attempts int
		)
		err := tx.QueryRow(ctx, s.q(`SELECT seq, code_hash, expires_at, attempts FROM gameauth_reset_codes
			WHERE email = $1 AND NOT spent ORDER BY seq DESC LIMIT 1`), email).Scan(&seq, &hash, &expires, &attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return storage.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !now.Truncate(time.Microsecond).Before(expires) {
			return storage.ErrNotFound
		}
		if subtle.ConstantTimeCompare(hash, codeHash) == 1 {
			_, err := tx.Exec(ctx, s.q(`UPDATE gameauth_reset_codes SET spent = true WHERE seq = $1`), seq)
			return err
		}
		attempts++
		spent := maxAttempts > 0 && attempts >= maxAttempts
		if _, err := tx.Exec(ctx, s.q(`UPDATE gameauth_reset_codes SET attempts = $1, spent = $2 WHERE seq = $3`),
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
