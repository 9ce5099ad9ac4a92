package storagetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refresher runs the Refresher part of the suite: Refresh must do what
// RotateRefresh does (the rotation cases, run again through Refresh), return the account,
// and stop, writing nothing, where a refresh must not go on. It runs only
// when the store implements storage.Refresher.
func (s suite) refresher(t *testing.T) {
	if _, ok := s.newStore(t).(storage.Refresher); !ok {
		t.Log("the store does not implement storage.Refresher: nothing to check")
		return
	}
	acct := rotationAccount
	// refresh calls Refresh and checks what every answer carries.
	refresh := func(t *testing.T, st storage.Store, id string, r storage.Rotation) (storage.RefreshState, error) {
		t.Helper()
		got, err := viaRefresh.call(t.Context(), st, id, r)
		checkRefresh(t, st, id, got, err)
		return got, err
	}

	s.rotationCases(t, viaRefresh)

	s.test(t, "AccountMissing", func(t *testing.T, st storage.Store) {
		sess := setupRotation(t, st)
		orphan := newSession("sess-orphan", "acc-gone", at(0))
		createSession(t, st, orphan, 0)
		for _, c := range []struct {
			name      string
			presented string
		}{
			{"Current", orphan.ID + "/0"},
			{"Stale", "t-wrong"},
		} {
			_, err := refresh(t, st, orphan.ID, rotation(c.presented, "t1", at(time.Minute)))
			requireOnly(t, err, storage.ErrNotFound, c.name) // and no account: checkRefresh
		}
		requireSession(t, orphan, getSession(t, st, orphan.ID), "nothing is written without the account")

		require.NoError(t, st.DeleteAccount(t.Context(), acct.ID))
		_, err := refresh(t, st, sess.ID, rotation("t0", "t1", at(time.Minute)))
		requireOnly(t, err, storage.ErrNotFound, "a deleted account")
		requireSession(t, sess, getSession(t, st, sess.ID))
	})

	s.test(t, "ConcurrentWithRotateRefresh", func(t *testing.T, st storage.Store) {
		// Refresh and RotateRefresh of one token are one compare-and-swap.
		sess := setupRotation(t, st)
		now := at(time.Minute)
		via := []rotator{viaRefresh, viaRotateRefresh}
		errs := race(rotators, func(i int) error {
			_, err := via[i%2].call(t.Context(), st, sess.ID, rotation("t0", "t1", now))
			return err
		})
		for i, err := range errs {
			require.NoError(t, err, "caller %d", i)
		}
		requireSession(t, rotated(sess, "t0", "t1", now), getSession(t, st, sess.ID), "exactly one rotation")
	})

	s.test(t, "ConcurrentMixed", func(t *testing.T, st storage.Store) {
		// Refreshes of many sessions at once, each with its own outcome: a
		// store that does several refreshes in one step (the PostgreSQL
		// backend batches them) still gives each its own answer and write.
		ctx := t.Context()
		rf := st.(storage.Refresher)
		now := at(time.Hour)
		const each = 4
		kinds := []string{"live", "retry", "reused", "revoked", "expired", "player-blocked",
			"device-blocked", "withdrawing", "missing", "orphan"}
		type refreshCase struct {
			kind string
			id   string // labels its tokens
			acct storage.Account
			sess storage.Session // as stored before the race
			r    storage.Rotation
		}
		var cases []refreshCase
		for i := range len(kinds) * each {
			kind := kinds[i%len(kinds)]
			id := fmt.Sprintf("%s-%d", kind, i)
			c := refreshCase{kind: kind, id: id, acct: newAccount("acc-"+id, storage.LinkGuest, "guest-"+id, "")}
			c.sess = newSession("sess-"+id, c.acct.ID, at(0))
			c.sess.RefreshHash = hash("t0-" + id)
			c.r = storage.Rotation{Presented: hash("t0-" + id), Next: hash("t1-" + id), Now: now, Grace: grace}
			if kind != "orphan" {
				require.NoError(t, st.CreateAccount(ctx, c.acct))
			}
			if kind == "expired" {
				c.sess.ExpiresAt = now
			}
			if kind != "missing" {
				createSession(t, st, c.sess, 0)
			}
			switch kind {
			case "retry", "reused":
				before := c.r
				before.Now = now.Add(-time.Second)
				_, err := rf.Refresh(ctx, c.sess.ID, before)
				require.NoError(t, err)
				if kind == "reused" {
					c.r.Next = hash("t9-" + id)
				}
			case "revoked":
				require.NoError(t, st.RevokeSession(ctx, c.sess.ID, storage.ReasonSignedOut, at(time.Minute)))
			case "player-blocked":
				require.NoError(t, st.CreateBlock(ctx, newBlock("blk-"+id, storage.BlockPlayer, c.acct.ID, at(0), time.Time{})))
			case "device-blocked":
				require.NoError(t, st.CreateBlock(ctx, newBlock("blk-"+id, storage.BlockDevice, c.sess.DeviceID, at(0), time.Time{})))
			case "withdrawing":
				withdraw(t, st, newWithdrawal(c.acct.ID, at(time.Minute)))
			}
			if kind != "missing" {
				c.sess = getSession(t, st, c.sess.ID)
			}
			cases = append(cases, c)
		}

		got := make([]storage.RefreshState, len(cases))
		errs := race(len(cases), func(i int) error {
			var err error
			got[i], err = rf.Refresh(ctx, cases[i].sess.ID, cases[i].r)
			return err
		})

		for i, c := range cases {
			msg := fmt.Sprintf("%s (%s)", c.sess.ID, c.kind)
			switch c.kind {
			case "live", "retry":
				require.NoError(t, errs[i], msg)
				assert.False(t, got[i].Held, msg)
				want := c.sess
				if c.kind == "live" {
					want = rotated(c.sess, "t0-"+c.id, "t1-"+c.id, now)
				}
				requireSession(t, want, got[i].Session, msg)
				requireAccount(t, c.acct, got[i].Account, msg)
				requireSession(t, want, getSession(t, st, c.sess.ID), msg)
			case "reused":
				requireOnly(t, errs[i], storage.ErrRefreshReused, msg)
				requireRevoked(t, st, c.sess.ID, storage.ReasonReused, now)
			case "revoked":
				requireOnly(t, errs[i], storage.ErrSessionRevoked, msg)
				requireSession(t, c.sess, getSession(t, st, c.sess.ID), msg)
			case "expired":
				requireOnly(t, errs[i], storage.ErrRefreshExpired, msg)
				requireSession(t, c.sess, getSession(t, st, c.sess.ID), msg)
			case "player-blocked", "device-blocked", "withdrawing":
				require.NoError(t, errs[i], msg)
				assert.True(t, got[i].Held, msg)
				requireSession(t, c.sess, got[i].Session, msg)
				requireSession(t, c.sess, getSession(t, st, c.sess.ID), msg)
			case "missing":
				requireOnly(t, errs[i], storage.ErrNotFound, msg)
			case "orphan":
				requireOnly(t, errs[i], storage.ErrNotFound, msg)
				requireSession(t, c.sess, getSession(t, st, c.sess.ID), msg)
			}
		}
	})

	// Held: nothing compared, nothing written.
	requireHeld := func(t *testing.T, st storage.Store, sess storage.Session, now time.Time) {
		t.Helper()
		for _, presented := range []string{"t0", "t-stale"} {
			got, err := refresh(t, st, sess.ID, rotation(presented, "t1", now))
			require.NoError(t, err, "presenting %s: a held refresh is no error", presented)
			assert.True(t, got.Held, "presenting %s", presented)
			requireSession(t, sess, got.Session, "presenting %s: the session as it is", presented)
		}
		requireSession(t, sess, getSession(t, st, sess.ID), "nothing rotated, a stale token not revoked")
	}
	// requireGoes checks that the refresh goes on: the current token rotates.
	requireGoes := func(t *testing.T, st storage.Store, sess storage.Session, now time.Time, msg string) {
		t.Helper()
		got, err := refresh(t, st, sess.ID, rotation("t0", "t1", now))
		require.NoError(t, err, msg)
		assert.False(t, got.Held, msg)
		requireSession(t, rotated(sess, "t0", "t1", now), got.Session, msg)
	}

	s.test(t, "Held/PendingWithdrawal", func(t *testing.T, st storage.Store) {
		sess := setupRotation(t, st)
		withdraw(t, st, newWithdrawal(acct.ID, at(time.Minute)))
		sess = getSession(t, st, sess.ID) // revoked by the withdrawal
		requireHeld(t, st, sess, at(time.Hour))
		requireHeld(t, st, sess, at(2*week)) // past the deadline: still pending until purged
	})

	s.test(t, "Held/WithdrawalOfSessionKeptLive", func(t *testing.T, st storage.Store) {
		// A session created after the withdrawal (no store does that on its
		// own, but the check must not rely on the revocation).
		setupRotation(t, st)
		withdraw(t, st, newWithdrawal(acct.ID, at(time.Minute)))
		late := newSession("sess-late", acct.ID, at(time.Hour))
		late.RefreshHash = hash("t0")
		createSession(t, st, late, 0)
		requireHeld(t, st, late, at(2*time.Hour))
	})

	s.test(t, "Held/PlayerBlock", func(t *testing.T, st storage.Store) {
		sess := setupRotation(t, st)
		require.NoError(t, st.CreateBlock(t.Context(), newBlock("blk-1", storage.BlockPlayer, acct.ID, at(0), at(time.Hour))))
		requireHeld(t, st, sess, at(time.Minute))
		requireGoes(t, st, sess, at(time.Hour), "the block ended")
	})

	s.test(t, "Held/PermanentPlayerBlock", func(t *testing.T, st storage.Store) {
		sess := setupRotation(t, st)
		require.NoError(t, st.CreateBlock(t.Context(), newBlock("blk-1", storage.BlockPlayer, acct.ID, at(0), time.Time{})))
		requireHeld(t, st, sess, at(1000*week))
	})

	s.test(t, "Held/DeviceBlock", func(t *testing.T, st storage.Store) {
		sess := setupRotation(t, st)
		require.NoError(t, st.CreateBlock(t.Context(), newBlock("blk-1", storage.BlockDevice, sess.DeviceID, at(0), time.Time{})))
		requireHeld(t, st, sess, at(time.Minute))
		n, err := st.LiftBlocks(t.Context(), storage.BlockDevice, sess.DeviceID, at(time.Hour))
		require.NoError(t, err)
		require.Equal(t, 1, n)
		requireHeld(t, st, sess, at(time.Hour-time.Microsecond))
		requireGoes(t, st, sess, at(time.Hour), "the block was lifted")
	})

	s.test(t, "Held/BeforeRevokedAndExpired", func(t *testing.T, st storage.Store) {
		sess := setupRotation(t, st)
		require.NoError(t, st.CreateBlock(t.Context(), newBlock("blk-1", storage.BlockPlayer, acct.ID, at(0), time.Time{})))
		requireHeld(t, st, sess, sess.ExpiresAt.Add(time.Hour))
		require.NoError(t, st.RevokeSession(t.Context(), sess.ID, storage.ReasonSignedOut, at(time.Minute)))
		requireHeld(t, st, getSession(t, st, sess.ID), at(time.Hour))
	})

	s.test(t, "NotStopped", func(t *testing.T, st storage.Store) {
		sess := setupRotation(t, st)
		ctx := t.Context()
		for _, b := range []storage.Block{
			{Key: "blk-svc", Kind: storage.BlockPlayer, Subject: acct.ID, Services: []string{"chat"}, CreatedAt: at(0)},
			{Key: "blk-dev-svc", Kind: storage.BlockDevice, Subject: sess.DeviceID, Services: []string{"trade"}, CreatedAt: at(0)},
			newBlock("blk-ended", storage.BlockPlayer, acct.ID, at(0), at(time.Minute)),
			newBlock("blk-lifted", storage.BlockDevice, sess.DeviceID, at(0), time.Time{}),
			newBlock("blk-other-player", storage.BlockPlayer, "acc-2", at(0), time.Time{}),
			newBlock("blk-other-device", storage.BlockDevice, "device-other", at(0), time.Time{}),
			newBlock("blk-account-as-device", storage.BlockDevice, acct.ID, at(0), time.Time{}),
			newBlock("blk-device-as-player", storage.BlockPlayer, sess.DeviceID, at(0), time.Time{}),
		} {
			require.NoError(t, st.CreateBlock(ctx, b), b.Key)
		}
		n, err := st.LiftBlocks(ctx, storage.BlockDevice, sess.DeviceID, at(30*time.Second))
		require.NoError(t, err)
		require.Equal(t, 2, n, "blk-dev-svc and blk-lifted")
		withdraw(t, st, newWithdrawal("acc-2", at(0)))
		requireGoes(t, st, sess, at(time.Minute), "service-only, ended, lifted and others' blocks do not stop")
	})

	s.test(t, "NotStopped/RestoredWithdrawal", func(t *testing.T, st storage.Store) {
		sess := setupRotation(t, st)
		w := newWithdrawal(acct.ID, at(time.Minute))
		withdraw(t, st, w)
		_, err := st.Restore(t.Context(), w.KeyHash, at(time.Hour))
		require.NoError(t, err)
		got, err := refresh(t, st, sess.ID, rotation("t0", "t1", at(2*time.Hour)))
		requireOnly(t, err, storage.ErrSessionRevoked, "the withdrawal's revocation stays")
		assert.False(t, got.Held)
		assert.Equal(t, storage.ReasonWithdrawn, got.Session.RevokeReason)
	})

	s.test(t, "NotStopped/DevicelessSession", func(t *testing.T, st storage.Store) {
		// A session without a device is not stopped by a block on "".
		setupRotation(t, st)
		sess := newSession("sess-nodev", acct.ID, at(0))
		sess.DeviceID = ""
		sess.RefreshHash = hash("t0")
		createSession(t, st, sess, 0)
		require.NoError(t, st.CreateBlock(t.Context(), newBlock("blk-empty", storage.BlockDevice, "", at(0), time.Time{})))
		requireGoes(t, st, sess, at(time.Minute), "no device, no device block")
	})

	s.test(t, "Cancelled", func(t *testing.T, st storage.Store) {
		fixture(t, st)
		rf := st.(storage.Refresher)
		before := snapshot(t, st)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		now := at(2 * time.Hour) // acc-1's block has ended: a live call would write
		for _, c := range []struct {
			name string
			id   string
			r    storage.Rotation
		}{
			{"Rotation", "sess-1", storage.Rotation{Presented: hash("sess-1/0"), Next: hash("n"), Now: now, Grace: grace}},
			{"Reuse", "sess-2", storage.Rotation{Presented: hash("wrong"), Next: hash("n"), Now: now, Grace: grace}},
		} {
			_, err := rf.Refresh(ctx, c.id, c.r)
			require.Error(t, err, "%s: a call with a cancelled context fails", c.name)
			for _, sentinel := range sentinels() {
				require.NotErrorIs(t, err, sentinel, "%s: a cancelled call is a store failure", c.name)
			}
			require.Equal(t, before, snapshot(t, st), "%s: and writes nothing", c.name)
		}
		// Live, the same calls write.
		_, err := rf.Refresh(t.Context(), "sess-1", storage.Rotation{Presented: hash("sess-1/0"), Next: hash("n"), Now: now, Grace: grace})
		require.NoError(t, err)
		_, err = rf.Refresh(t.Context(), "sess-2", storage.Rotation{Presented: hash("wrong"), Next: hash("n"), Now: now, Grace: grace})
		requireOnly(t, err, storage.ErrRefreshReused)
		require.NotEqual(t, before, snapshot(t, st))
	})
}

// sentinel reports whether err is one of the errors the contract defines.
func sentinel(err error) bool {
	for _, s := range sentinels() {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
