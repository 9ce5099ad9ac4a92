package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	// codeLife is how long the suite's reset codes live.
	codeLife = 15 * time.Minute
	// perDay is the suite's usual daily quota, high enough not to interfere.
	perDay = 100
	// attempts is the suite's usual attempt limit.
	attempts = 5
)

// newCode returns a reset code for email created at created.
func newCode(email, code string, created time.Time) storage.ResetCode {
	return storage.ResetCode{Email: email, CodeHash: hash("code/" + code), CreatedAt: created, ExpiresAt: created.Add(codeLife)}
}

func createCode(t *testing.T, st storage.ResetCodes, c storage.ResetCode, maxPerDay int) {
	t.Helper()
	require.NoError(t, st.CreateResetCode(t.Context(), c, maxPerDay), "CreateResetCode(%s at %v)", c.Email, c.CreatedAt)
}

func consume(st storage.ResetCodes, t *testing.T, email, code string, now time.Time, maxAttempts int) error {
	return st.ConsumeResetCode(t.Context(), email, hash("code/"+code), now, maxAttempts)
}

func (s suite) resetCodes(t *testing.T) {
	const email = "reset@example.com"

	s.test(t, "SingleUse", func(t *testing.T, st storage.Store) {
		createCode(t, st, newCode(email, "123456", at(0)), perDay)
		require.NoError(t, consume(st, t, email, "123456", at(time.Minute), attempts))
		requireOnly(t, consume(st, t, email, "123456", at(time.Minute), attempts), storage.ErrNotFound, "a used code")
	})

	s.test(t, "Wrong", func(t *testing.T, st storage.Store) {
		createCode(t, st, newCode(email, "123456", at(0)), perDay)
		requireOnly(t, consume(st, t, email, "654321", at(time.Minute), attempts), storage.ErrNotFound)
		requireOnly(t, consume(st, t, "other@example.com", "123456", at(time.Minute), attempts), storage.ErrNotFound, "another email")
		requireOnly(t, consume(st, t, "unknown@example.com", "000000", at(time.Minute), attempts), storage.ErrNotFound, "an email without codes")
		require.NoError(t, consume(st, t, email, "123456", at(time.Minute), attempts), "a wrong attempt under the limit does not spend the code")
	})

	s.test(t, "Expiry", func(t *testing.T, st storage.Store) {
		c := newCode(email, "123456", at(0))
		createCode(t, st, c, perDay)
		requireOnly(t, consume(st, t, email, "123456", c.ExpiresAt, attempts), storage.ErrNotFound, "at ExpiresAt")
		requireOnly(t, consume(st, t, email, "123456", c.ExpiresAt.Add(time.Hour), attempts), storage.ErrNotFound, "after ExpiresAt")
		require.NoError(t, consume(st, t, email, "123456", c.ExpiresAt.Add(-time.Microsecond), attempts), "just before ExpiresAt")
	})

	s.test(t, "Superseded", func(t *testing.T, st storage.Store) {
		createCode(t, st, newCode(email, "111111", at(0)), perDay)
		createCode(t, st, newCode(email, "222222", at(time.Minute)), perDay)
		requireOnly(t, consume(st, t, email, "111111", at(2*time.Minute), attempts), storage.ErrNotFound, "the older code")
		require.NoError(t, consume(st, t, email, "222222", at(2*time.Minute), attempts))
		requireOnly(t, consume(st, t, email, "111111", at(2*time.Minute), attempts), storage.ErrNotFound, "the older code after the newer was used")
	})

	s.test(t, "EmailsAreSeparate", func(t *testing.T, st storage.Store) {
		createCode(t, st, newCode("a@example.com", "111111", at(0)), perDay)
		createCode(t, st, newCode("b@example.com", "222222", at(0)), perDay)
		require.NoError(t, consume(st, t, "a@example.com", "111111", at(time.Minute), attempts), "b's code does not supersede a's")
		require.NoError(t, consume(st, t, "b@example.com", "222222", at(time.Minute), attempts))
	})

	s.test(t, "AttemptLimit", func(t *testing.T, st storage.Store) {
		createCode(t, st, newCode(email, "123456", at(0)), perDay)
		for i := range 3 {
			requireOnly(t, consume(st, t, email, fmt.Sprintf("wrong%d", i), at(time.Minute), 3), storage.ErrNotFound)
		}
		requireOnly(t, consume(st, t, email, "123456", at(time.Minute), 3), storage.ErrNotFound, "spent after maxAttempts mismatches")

		// A new code starts counting afresh.
		createCode(t, st, newCode(email, "777777", at(2*time.Minute)), perDay)
		for i := range 2 {
			requireOnly(t, consume(st, t, email, fmt.Sprintf("wrong%d", i), at(3*time.Minute), 3), storage.ErrNotFound)
		}
		require.NoError(t, consume(st, t, email, "777777", at(3*time.Minute), 3), "two mismatches of three allowed")
	})

	s.test(t, "AttemptsAreCountedUnderContention", func(t *testing.T, st storage.Store) {
		createCode(t, st, newCode(email, "123456", at(0)), perDay)
		errs := race(concurrency, func(i int) error {
			return consume(st, t, email, fmt.Sprintf("wrong%d", i), at(time.Minute), attempts)
		})
		for i, err := range errs {
			requireOnly(t, err, storage.ErrNotFound, "guesser %d", i)
		}
		requireOnly(t, consume(st, t, email, "123456", at(time.Minute), attempts), storage.ErrNotFound,
			"%d concurrent mismatches spend a code allowing %d", concurrency, attempts)
	})

	s.test(t, "ConcurrentConsume", func(t *testing.T, st storage.Store) {
		createCode(t, st, newCode(email, "123456", at(0)), perDay)
		errs := race(concurrency, func(int) error {
			return consume(st, t, email, "123456", at(time.Minute), attempts)
		})
		assert.Equal(t, 1, wins(t, errs, storage.ErrNotFound, "consumer"), "exactly one consumer succeeds")
	})

	s.test(t, "DailyLimit", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		const limit = 3
		hours := func(h int) time.Time { return at(time.Duration(h) * time.Hour) }
		for h := range limit {
			createCode(t, st, newCode(email, fmt.Sprintf("code%d", h), hours(h)), limit)
			if h == 1 {
				// Used codes still count.
				require.NoError(t, consume(st, t, email, "code1", hours(h).Add(time.Minute), attempts))
			}
		}
		for _, h := range []int{3, 4, 23} {
			err := st.CreateResetCode(ctx, newCode(email, fmt.Sprintf("late%d", h), hours(h)), limit)
			requireOnly(t, err, storage.ErrLimited, "code %d of the day", h+1)
		}
		// Nothing was written: the last allowed code is still current.
		require.NoError(t, consume(st, t, email, "code2", hours(2).Add(time.Minute), attempts), "a limited create supersedes nothing")
		requireOnly(t, consume(st, t, email, "late3", hours(3).Add(time.Minute), attempts), storage.ErrNotFound)

		// Other emails have their own quota.
		createCode(t, st, newCode("other@example.com", "x", hours(3)), limit)

		// The window slides: 24h after the first code, one slot is free
		// again; refused creates took none.
		createCode(t, st, newCode(email, "next-day", hours(24)), limit)
		require.NoError(t, consume(st, t, email, "next-day", hours(24).Add(time.Minute), attempts))
		err := st.CreateResetCode(ctx, newCode(email, "too-many", hours(24).Add(30*time.Minute)), limit)
		requireOnly(t, err, storage.ErrLimited, "codes at 1h, 2h and 24h fill the window")
		createCode(t, st, newCode(email, "later", hours(25)), limit)
	})

	s.test(t, "ConcurrentDailyLimit", func(t *testing.T, st storage.Store) {
		const limit = 3
		errs := race(concurrency, func(i int) error {
			// One instant for all, so no reading of "the 24 hours before"
			// lets a create that lands late but is stamped early through.
			return st.CreateResetCode(t.Context(), newCode(email, fmt.Sprintf("c%d", i), at(time.Minute)), limit)
		})
		assert.Equal(t, limit, wins(t, errs, storage.ErrLimited, "creator"), "exactly maxPerDay creates succeed")
	})
}
