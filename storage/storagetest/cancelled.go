package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/require"
)

// fixture fills st with one of every record the cancelled calls could touch.
func fixture(t *testing.T, st storage.Store) {
	t.Helper()
	ctx := t.Context()
	require.NoError(t, st.CreateAccount(ctx, newAccount("acc-1", storage.LinkEmail, "a@example.com", "Alpha")))
	require.NoError(t, st.CreateAccount(ctx, newAccount("acc-2", storage.LinkGuest, "guest-2", "")))
	createSession(t, st, newSession("sess-1", "acc-1", at(0)), 0)
	createSession(t, st, newSession("sess-2", "acc-1", at(time.Minute)), 0)
	createSession(t, st, newSession("sess-3", "acc-3", at(0)), 0)
	require.NoError(t, st.RevokeSession(ctx, "sess-3", storage.ReasonSignedOut, at(time.Minute)))
	require.NoError(t, st.CreateBlock(ctx, newBlock("blk-1", storage.BlockPlayer, "acc-1", at(0), at(time.Hour))))
	require.NoError(t, st.CreateBlock(ctx, newBlock("blk-2", storage.BlockDevice, "device-1", at(0), time.Time{})))
	withdraw(t, st, newWithdrawal("acc-2", at(0)))
	withdraw(t, st, newWithdrawal("acc-3", at(0)))
	require.NoError(t, st.MarkPurged(ctx, "acc-3", at(week)))
	createCode(t, st, newCode("a@example.com", "123456", at(0)), perDay)
	require.NoError(t, st.AddKey(ctx, newKey("kid-1", at(0))))
}

// snapshot reads everything fixture wrote, and what the cancelled calls
// would have written, into a comparable map.
func snapshot(t *testing.T, st storage.Store) readings {
	t.Helper()
	ctx := t.Context()
	snap := readings{}
	put := snap.put
	for _, id := range []string{"acc-1", "acc-2", "acc-new"} {
		a, err := st.GetAccount(ctx, id)
		put("account "+id, normAccount(a), err)
	}
	for _, l := range []storage.Link{{Type: storage.LinkEmail, ID: "a@example.com"}, {Type: storage.LinkEmail, ID: "new@example.com"}} {
		a, err := st.GetAccountByLink(ctx, l.Type, l.ID)
		put("link "+l.ID, a.ID, err)
	}
	for _, n := range []string{"alpha", "new"} {
		a, err := st.GetAccountByNickname(ctx, n)
		put("nickname "+n, a.ID, err)
	}
	for _, id := range []string{"sess-1", "sess-2", "sess-3", "sess-new"} {
		s, err := st.GetSession(ctx, id)
		put("session "+id, normSession(s), err)
	}
	feed, err := st.RevokedSince(ctx, time.Time{})
	put("revoked", normRevocations(feed), err)
	for _, key := range []string{"blk-1", "blk-2", "blk-new"} {
		b, err := st.GetBlock(ctx, key)
		put("block "+key, normBlock(b), err)
	}
	active, err := st.ListActiveBlocks(ctx, at(30*time.Minute))
	put("active blocks", normBlocks(active), err)
	for _, acc := range []string{"acc-1", "acc-2", "acc-3"} {
		w, err := st.GetWithdrawal(ctx, hash("wd/"+acc))
		put("withdrawal "+acc, normWithdrawal(w), err)
		w, err = st.GetAccountWithdrawal(ctx, acc)
		put("account withdrawal "+acc, normWithdrawal(w), err)
	}
	due, err := st.DueWithdrawals(ctx, at(100*week), 10)
	put("due", len(due), err)
	keys, err := st.ListKeys(ctx)
	put("keys", normKeys(keys), err)
	return snap
}

// readings are what a test read from a store, by name, each a value or the
// error it got: compared before and after a call to see what it wrote.
type readings map[string]any

// put records v, or err when there is one.
func (r readings) put(name string, v any, err error) {
	if err != nil {
		r[name] = "error: " + errName(err)
		return
	}
	r[name] = v
}

// errName names err by the sentinel it matches, for readable snapshots.
func errName(err error) string {
	for _, s := range sentinels() {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return err.Error()
}

// requireCancelledFails calls call with a context cancelled beforehand: it
// must fail, as a store failure, not with one of the contract's answers.
func requireCancelledFails(t *testing.T, call func(ctx context.Context) error, msgAndArgs ...any) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := call(ctx)
	require.Error(t, err, append([]any{"a call with a cancelled context fails"}, msgAndArgs...)...)
	for _, sentinel := range sentinels() {
		require.NotErrorIs(t, err, sentinel, append([]any{"a cancelled call is a store failure"}, msgAndArgs...)...)
	}
}

// cancelled calls every write, and every read, with a context cancelled
// beforehand: each must fail and leave the store as it was.
func (s suite) cancelled(t *testing.T) {
	far := at(1000 * week)
	writes := []struct {
		name string
		call func(ctx context.Context, st storage.Store) error
	}{
		{"CreateAccount", func(ctx context.Context, st storage.Store) error {
			return st.CreateAccount(ctx, newAccount("acc-new", storage.LinkEmail, "new@example.com", "New"))
		}},
		{"UpdateAccount", func(ctx context.Context, st storage.Store) error {
			return st.UpdateAccount(ctx, "acc-1", storage.AccountUpdate{
				Nickname: ptr("New"), Link: &storage.Link{Type: storage.LinkEmail, ID: "new@example.com"}, PasswordHash: ptr("x"), At: at(time.Hour),
			})
		}},
		{"DeleteAccount", func(ctx context.Context, st storage.Store) error { return st.DeleteAccount(ctx, "acc-1") }},
		{"CreateSession", func(ctx context.Context, st storage.Store) error {
			_, err := st.CreateSession(ctx, newSession("sess-new", "acc-1", at(time.Hour)), 1)
			return err
		}},
		{"RotateRefresh", func(ctx context.Context, st storage.Store) error {
			_, err := st.RotateRefresh(ctx, "sess-1", storage.Rotation{Presented: hash("sess-1/0"), Next: hash("n"), Now: at(time.Hour), Grace: grace})
			return err
		}},
		{"RotateRefreshReused", func(ctx context.Context, st storage.Store) error {
			_, err := st.RotateRefresh(ctx, "sess-2", storage.Rotation{Presented: hash("wrong"), Next: hash("n"), Now: at(time.Hour), Grace: grace})
			return err
		}},
		{"RevokeSession", func(ctx context.Context, st storage.Store) error {
			return st.RevokeSession(ctx, "sess-1", storage.ReasonAdmin, at(time.Hour))
		}},
		{"RevokeSessions", func(ctx context.Context, st storage.Store) error {
			_, err := st.RevokeSessions(ctx, "acc-1", "", storage.ReasonAdmin, at(time.Hour))
			return err
		}},
		{"DeleteSessionsBefore", func(ctx context.Context, st storage.Store) error {
			_, err := st.DeleteSessionsBefore(ctx, far)
			return err
		}},
		{"CreateBlock", func(ctx context.Context, st storage.Store) error {
			return st.CreateBlock(ctx, newBlock("blk-new", storage.BlockPlayer, "acc-2", at(0), time.Time{}))
		}},
		{"LiftBlocks", func(ctx context.Context, st storage.Store) error {
			_, err := st.LiftBlocks(ctx, storage.BlockPlayer, "acc-1", at(time.Minute))
			return err
		}},
		{"Withdraw", func(ctx context.Context, st storage.Store) error {
			_, err := st.Withdraw(ctx, newWithdrawal("acc-1", at(time.Hour)))
			return err
		}},
		{"Restore", func(ctx context.Context, st storage.Store) error {
			_, err := st.Restore(ctx, hash("wd/acc-2"), at(time.Hour))
			return err
		}},
		{"MarkPurged", func(ctx context.Context, st storage.Store) error { return st.MarkPurged(ctx, "acc-2", at(week)) }},
		{"DeleteTombstones", func(ctx context.Context, st storage.Store) error {
			_, err := st.DeleteTombstones(ctx, far)
			return err
		}},
		{"CreateResetCode", func(ctx context.Context, st storage.Store) error {
			return st.CreateResetCode(ctx, newCode("a@example.com", "999999", at(time.Minute)), perDay)
		}},
		{"ConsumeResetCode", func(ctx context.Context, st storage.Store) error {
			return st.ConsumeResetCode(ctx, "a@example.com", hash("code/123456"), at(time.Minute), 1)
		}},
		{"ConsumeResetCodeWrong", func(ctx context.Context, st storage.Store) error {
			return st.ConsumeResetCode(ctx, "a@example.com", hash("code/000000"), at(time.Minute), 1)
		}},
		{"AddKey", func(ctx context.Context, st storage.Store) error {
			return st.AddKey(ctx, newKey("kid-new", at(time.Hour)))
		}},
		{"DeleteKey", func(ctx context.Context, st storage.Store) error { return st.DeleteKey(ctx, "kid-1") }},
	}
	for _, w := range writes {
		s.test(t, w.name, func(t *testing.T, st storage.Store) {
			fixture(t, st)
			before := snapshot(t, st)
			requireCancelledFails(t, func(ctx context.Context) error { return w.call(ctx, st) })
			require.Equal(t, before, snapshot(t, st), "and writes nothing")
			// The reset code was neither used, spent, nor superseded.
			require.NoError(t, st.ConsumeResetCode(t.Context(), "a@example.com", hash("code/123456"), at(time.Minute), 1))
		})
	}

	reads := []struct {
		name string
		call func(ctx context.Context, st storage.Store) error
	}{
		{"GetAccount", func(ctx context.Context, st storage.Store) error { _, err := st.GetAccount(ctx, "acc-1"); return err }},
		{"GetAccountByLink", func(ctx context.Context, st storage.Store) error {
			_, err := st.GetAccountByLink(ctx, storage.LinkEmail, "a@example.com")
			return err
		}},
		{"GetAccountByNickname", func(ctx context.Context, st storage.Store) error {
			_, err := st.GetAccountByNickname(ctx, "Alpha")
			return err
		}},
		{"GetSession", func(ctx context.Context, st storage.Store) error { _, err := st.GetSession(ctx, "sess-1"); return err }},
		{"RevokedSince", func(ctx context.Context, st storage.Store) error {
			_, err := st.RevokedSince(ctx, time.Time{})
			return err
		}},
		{"ActiveBlocks", func(ctx context.Context, st storage.Store) error {
			_, err := st.ActiveBlocks(ctx, storage.BlockPlayer, "acc-1", at(time.Minute))
			return err
		}},
		{"GetBlock", func(ctx context.Context, st storage.Store) error { _, err := st.GetBlock(ctx, "blk-1"); return err }},
		{"ListActiveBlocks", func(ctx context.Context, st storage.Store) error {
			_, err := st.ListActiveBlocks(ctx, at(time.Minute))
			return err
		}},
		{"GetWithdrawal", func(ctx context.Context, st storage.Store) error {
			_, err := st.GetWithdrawal(ctx, hash("wd/acc-2"))
			return err
		}},
		{"GetAccountWithdrawal", func(ctx context.Context, st storage.Store) error {
			_, err := st.GetAccountWithdrawal(ctx, "acc-2")
			return err
		}},
		{"DueWithdrawals", func(ctx context.Context, st storage.Store) error {
			_, err := st.DueWithdrawals(ctx, far, 10)
			return err
		}},
		{"ListKeys", func(ctx context.Context, st storage.Store) error { _, err := st.ListKeys(ctx); return err }},
	}
	s.test(t, "Reads", func(t *testing.T, st storage.Store) {
		fixture(t, st)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for _, r := range reads {
			err := r.call(ctx, st)
			require.Error(t, err, "%s with a cancelled context fails", r.name)
			for _, sentinel := range sentinels() {
				require.NotErrorIs(t, err, sentinel, "%s: a cancelled call is a store failure", r.name)
			}
		}
	})
}
