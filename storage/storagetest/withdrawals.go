package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// week is the default withdrawal grace period.
const week = 7 * 24 * time.Hour

// newWithdrawal returns a pending withdrawal of account requested at
// requested, due a week later, with key hash hash("wd/"+account).
func newWithdrawal(account string, requested time.Time) storage.Withdrawal {
	return storage.Withdrawal{
		AccountID:   account,
		KeyHash:     hash("wd/" + account),
		Memo:        "moving to another server — 다시 만나요",
		RequestedAt: requested,
		Deadline:    requested.Add(week),
	}
}

func requireWithdrawal(t *testing.T, want, got storage.Withdrawal, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, normWithdrawal(want), normWithdrawal(got), msgAndArgs...)
}

func withdraw(t *testing.T, st storage.Withdrawals, w storage.Withdrawal) []string {
	t.Helper()
	revoked, err := st.Withdraw(t.Context(), w)
	require.NoError(t, err, "Withdraw(%s)", w.AccountID)
	return revoked
}

// tombstone is what a purged withdrawal keeps.
func tombstone(w storage.Withdrawal, purged time.Time) storage.Withdrawal {
	return storage.Withdrawal{KeyHash: w.KeyHash, Deadline: w.Deadline, PurgedAt: purged}
}

func (s suite) withdrawals(t *testing.T) {
	s.test(t, "Withdraw", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		for _, x := range []storage.Session{
			newSession("sess-1", "acc-1", at(0)),
			newSession("sess-2", "acc-1", at(time.Minute)),
			newSession("sess-gone", "acc-1", at(0)),
			newSession("sess-other", "acc-2", at(0)),
		} {
			createSession(t, st, x, 0)
		}
		require.NoError(t, st.RevokeSession(ctx, "sess-gone", storage.ReasonSignedOut, at(time.Second)))

		w := newWithdrawal("acc-1", at(time.Hour))
		revoked := withdraw(t, st, w)
		assert.Equal(t, []string{"sess-1", "sess-2"}, sorted(revoked), "every live session is revoked")
		requireRevoked(t, st, "sess-1", storage.ReasonWithdrawn, w.RequestedAt)
		requireRevoked(t, st, "sess-2", storage.ReasonWithdrawn, w.RequestedAt)
		requireRevoked(t, st, "sess-gone", storage.ReasonSignedOut, at(time.Second))
		requireLive(t, st, "sess-other")

		got, err := st.GetWithdrawal(ctx, w.KeyHash)
		require.NoError(t, err)
		requireWithdrawal(t, w, got, "GetWithdrawal")
		got, err = st.GetAccountWithdrawal(ctx, "acc-1")
		require.NoError(t, err)
		requireWithdrawal(t, w, got, "GetAccountWithdrawal")

		_, err = st.GetWithdrawal(ctx, hash("unknown"))
		requireOnly(t, err, storage.ErrNotFound)
		_, err = st.GetAccountWithdrawal(ctx, "acc-2")
		requireOnly(t, err, storage.ErrNotFound)
	})

	s.test(t, "WithdrawWithoutSessions", func(t *testing.T, st storage.Store) {
		w := newWithdrawal("acc-1", at(0))
		w.Memo = ""
		assert.Empty(t, withdraw(t, st, w))
		got, err := st.GetWithdrawal(t.Context(), w.KeyHash)
		require.NoError(t, err)
		requireWithdrawal(t, w, got)
	})

	s.test(t, "WithdrawTwice", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		w := newWithdrawal("acc-1", at(0))
		withdraw(t, st, w)
		// A session created meanwhile must survive the failed second call.
		createSession(t, st, newSession("sess-late", "acc-1", at(time.Minute)), 0)

		second := newWithdrawal("acc-1", at(time.Hour))
		second.KeyHash = hash("second key")
		revoked, err := st.Withdraw(ctx, second)
		requireConflict(t, err, storage.FieldState)
		assert.Empty(t, revoked)
		requireLive(t, st, "sess-late")
		_, err = st.GetWithdrawal(ctx, second.KeyHash)
		requireOnly(t, err, storage.ErrNotFound, "the second withdrawal wrote nothing")
		got, err := st.GetAccountWithdrawal(ctx, "acc-1")
		require.NoError(t, err)
		requireWithdrawal(t, w, got, "the first one stays")
	})

	s.test(t, "DuplicateKeyHash", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		w := newWithdrawal("acc-1", at(0))
		withdraw(t, st, w)
		createSession(t, st, newSession("sess-2", "acc-2", at(0)), 0)
		other := newWithdrawal("acc-2", at(time.Hour))
		other.KeyHash = w.KeyHash
		_, err := st.Withdraw(ctx, other)
		requireConflictMaybeField(t, err, storage.FieldID)
		requireLive(t, st, "sess-2")
		_, err = st.GetAccountWithdrawal(ctx, "acc-2")
		requireOnly(t, err, storage.ErrNotFound, "nothing written")
		got, err := st.GetWithdrawal(ctx, w.KeyHash)
		require.NoError(t, err)
		requireWithdrawal(t, w, got, "the key still finds the first")
	})

	s.test(t, "ConcurrentWithdraw", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		createSession(t, st, newSession("sess-1", "acc-1", at(0)), 0)
		revoked := make([][]string, concurrency)
		errs := race(concurrency, func(i int) error {
			w := newWithdrawal("acc-1", at(time.Hour))
			w.KeyHash = hash(fmt.Sprintf("key-%d", i))
			var err error
			revoked[i], err = st.Withdraw(ctx, w)
			return err
		})
		winner := requireOneWinner(t, errs, storage.FieldState)
		assert.Equal(t, []string{"sess-1"}, revoked[winner])
		got, err := st.GetAccountWithdrawal(ctx, "acc-1")
		require.NoError(t, err)
		assert.Equal(t, hash(fmt.Sprintf("key-%d", winner)), got.KeyHash)
	})

	s.test(t, "Restore", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		createSession(t, st, newSession("sess-1", "acc-1", at(0)), 0)
		w := newWithdrawal("acc-1", at(time.Hour))
		withdraw(t, st, w)

		got, err := st.Restore(ctx, w.KeyHash, w.Deadline.Add(-time.Microsecond))
		require.NoError(t, err, "just before the deadline")
		requireWithdrawal(t, w, got, "Restore returns the withdrawal")

		_, err = st.GetAccountWithdrawal(ctx, "acc-1")
		requireOnly(t, err, storage.ErrNotFound, "no pending withdrawal after a restore")
		_, err = st.GetWithdrawal(ctx, w.KeyHash)
		requireOnly(t, err, storage.ErrNotFound, "the key is used up")
		_, err = st.Restore(ctx, w.KeyHash, at(2*time.Hour))
		requireOnly(t, err, storage.ErrNotFound, "a second restore")
		requireRevoked(t, st, "sess-1", storage.ReasonWithdrawn, w.RequestedAt)

		// The account can withdraw again.
		again := newWithdrawal("acc-1", at(3*time.Hour))
		again.KeyHash = hash("again")
		withdraw(t, st, again)
		got, err = st.GetAccountWithdrawal(ctx, "acc-1")
		require.NoError(t, err)
		requireWithdrawal(t, again, got)
	})

	s.test(t, "RestoreExpired", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		w := newWithdrawal("acc-1", at(0))
		withdraw(t, st, w)
		for _, now := range []time.Time{w.Deadline, w.Deadline.Add(time.Microsecond), w.Deadline.Add(week)} {
			_, err := st.Restore(ctx, w.KeyHash, now)
			requireOnly(t, err, storage.ErrWithdrawalExpired, "restore at %v, deadline %v", now, w.Deadline)
		}
		got, err := st.GetAccountWithdrawal(ctx, "acc-1")
		require.NoError(t, err, "a late restore writes nothing")
		requireWithdrawal(t, w, got)
	})

	s.test(t, "RestoreUnknown", func(t *testing.T, st storage.Store) {
		withdraw(t, st, newWithdrawal("acc-1", at(0)))
		_, err := st.Restore(t.Context(), hash("unknown"), at(time.Hour))
		requireOnly(t, err, storage.ErrNotFound)
	})

	s.test(t, "ConcurrentRestore", func(t *testing.T, st storage.Store) {
		w := newWithdrawal("acc-1", at(0))
		withdraw(t, st, w)
		errs := race(concurrency, func(int) error {
			_, err := st.Restore(t.Context(), w.KeyHash, at(time.Hour))
			return err
		})
		assert.Equal(t, 1, wins(t, errs, storage.ErrNotFound, "restorer"), "exactly one restore succeeds")
	})

	s.test(t, "DueWithdrawals", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		ws := map[string]storage.Withdrawal{}
		for i, acc := range []string{"acc-3", "acc-1", "acc-2", "acc-4", "acc-restored", "acc-purged"} {
			w := newWithdrawal(acc, at(time.Duration(i)*time.Hour))
			ws[acc] = w
			withdraw(t, st, w)
		}
		_, err := st.Restore(ctx, ws["acc-restored"].KeyHash, at(0))
		require.NoError(t, err)
		require.NoError(t, st.MarkPurged(ctx, "acc-purged", at(time.Hour)))

		due := func(now time.Time, limit int) []string {
			t.Helper()
			got, err := st.DueWithdrawals(ctx, now, limit)
			require.NoError(t, err)
			require.LessOrEqual(t, len(got), limit, "at most limit")
			var accs []string
			for _, w := range got {
				requireWithdrawal(t, ws[w.AccountID], w, "whole pending records")
				require.False(t, w.Deadline.After(now), "%s is due", w.AccountID)
				accs = append(accs, w.AccountID)
			}
			return sorted(accs)
		}
		assert.Empty(t, due(at(week-time.Microsecond), 10), "nothing due yet")
		assert.Equal(t, []string{"acc-3"}, due(at(week), 10), "a deadline at now is due")
		assert.Equal(t, []string{"acc-1", "acc-2", "acc-3"}, due(at(week+2*time.Hour), 10))
		assert.Equal(t, []string{"acc-1", "acc-2", "acc-3", "acc-4"}, due(at(10*week), 10), "restored and purged ones are not due")
		assert.Len(t, due(at(10*week), 2), 2, "limit")
		assert.Len(t, due(at(10*week), 1), 1, "limit")
	})

	s.test(t, "MarkPurged", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		w := newWithdrawal("acc-1", at(0))
		withdraw(t, st, w)
		purged := w.Deadline.Add(time.Minute)
		require.NoError(t, st.MarkPurged(ctx, "acc-1", purged))

		got, err := st.GetWithdrawal(ctx, w.KeyHash)
		require.NoError(t, err, "the tombstone is found by key")
		requireWithdrawal(t, tombstone(w, purged), got, "a tombstone keeps only KeyHash, Deadline and PurgedAt")

		_, err = st.GetAccountWithdrawal(ctx, "acc-1")
		requireOnly(t, err, storage.ErrNotFound, "a tombstone is not pending")
		for _, now := range []time.Time{w.Deadline.Add(-time.Hour), purged.Add(time.Hour)} {
			_, err = st.Restore(ctx, w.KeyHash, now)
			requireOnly(t, err, storage.ErrWithdrawalExpired, "restoring a tombstone at %v", now)
		}
		requireOnly(t, st.MarkPurged(ctx, "acc-1", purged), storage.ErrNotFound, "purging twice")
		requireOnly(t, st.MarkPurged(ctx, "acc-unknown", purged), storage.ErrNotFound)
		got, err = st.GetWithdrawal(ctx, w.KeyHash)
		require.NoError(t, err)
		requireWithdrawal(t, tombstone(w, purged), got, "a failed purge changes nothing")
	})

	s.test(t, "DeleteTombstones", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		old := newWithdrawal("acc-old", at(0))
		edge := newWithdrawal("acc-edge", at(time.Hour))
		recent := newWithdrawal("acc-recent", at(2*time.Hour))
		pending := newWithdrawal("acc-pending", at(-time.Hour))
		for _, w := range []storage.Withdrawal{old, edge, recent, pending} {
			withdraw(t, st, w)
		}
		for _, acc := range []string{"acc-old", "acc-edge", "acc-recent"} {
			require.NoError(t, st.MarkPurged(ctx, acc, at(2*week)))
		}

		n, err := st.DeleteTombstones(ctx, edge.Deadline)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "only tombstones whose deadline is before t")
		_, err = st.GetWithdrawal(ctx, old.KeyHash)
		requireOnly(t, err, storage.ErrNotFound)
		_, err = st.Restore(ctx, old.KeyHash, at(3*week))
		requireOnly(t, err, storage.ErrNotFound, "a deleted tombstone is an unknown key")
		for _, w := range []storage.Withdrawal{edge, recent} {
			got, err := st.GetWithdrawal(ctx, w.KeyHash)
			require.NoError(t, err)
			requireWithdrawal(t, tombstone(w, at(2*week)), got)
		}
		got, err := st.GetAccountWithdrawal(ctx, "acc-pending")
		require.NoError(t, err, "pending withdrawals are not tombstones")
		requireWithdrawal(t, pending, got)

		n, err = st.DeleteTombstones(ctx, at(100*week))
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		_, err = st.GetAccountWithdrawal(ctx, "acc-pending")
		require.NoError(t, err)
	})

	s.test(t, "PurgeFlow", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		a := newAccount("acc-1", storage.LinkEmail, "leaver@example.com", "Leaver")
		require.NoError(t, st.CreateAccount(ctx, a))
		createSession(t, st, newSession("sess-1", a.ID, at(0)), 1)
		w := newWithdrawal(a.ID, at(time.Hour))
		assert.Equal(t, []string{"sess-1"}, withdraw(t, st, w))

		// The janitor: find due withdrawals, delete the account, leave a tombstone.
		due, err := st.DueWithdrawals(ctx, w.Deadline, 10)
		require.NoError(t, err)
		require.Len(t, due, 1)
		require.NoError(t, st.DeleteAccount(ctx, due[0].AccountID))
		require.NoError(t, st.MarkPurged(ctx, due[0].AccountID, w.Deadline), "the withdrawal outlives its account")

		requireAccountMissing(t, st, a.ID)
		got, err := st.GetWithdrawal(ctx, w.KeyHash)
		require.NoError(t, err)
		requireWithdrawal(t, tombstone(w, w.Deadline), got)
		_, err = st.Restore(ctx, w.KeyHash, w.Deadline.Add(time.Hour))
		requireOnly(t, err, storage.ErrWithdrawalExpired)

		// Email and nickname are free again.
		b := newAccount("acc-2", storage.LinkEmail, "leaver@example.com", "LEAVER")
		require.NoError(t, st.CreateAccount(ctx, b))
		got2, err := st.GetAccountByNickname(ctx, "leaver")
		require.NoError(t, err)
		assert.Equal(t, b.ID, got2.ID)
		due, err = st.DueWithdrawals(ctx, w.Deadline.Add(week), 10)
		require.NoError(t, err)
		assert.Empty(t, due)
	})
}
