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

// rotator is one of the two calls that rotate a refresh token:
// RotateRefresh, or a Refresher's Refresh, which must answer every rotation
// case the same way. The rotation cases run against both.
type rotator struct {
	// call rotates; safe to run from any goroutine.
	call func(ctx context.Context, st storage.Store, id string, r storage.Rotation) (storage.RefreshState, error)
	// check asserts, on the test's goroutine, what only this call promises
	// about an answer (got, err) for session id; nil when nothing more.
	check func(t *testing.T, st storage.Store, id string, got storage.RefreshState, err error)
}

// viaRotateRefresh is Sessions.RotateRefresh; it returns no account.
var viaRotateRefresh = rotator{
	call: func(ctx context.Context, st storage.Store, id string, r storage.Rotation) (storage.RefreshState, error) {
		sess, err := st.RotateRefresh(ctx, id, r)
		return storage.RefreshState{Session: sess}, err
	},
}

// viaRefresh is Refresher.Refresh, checked by checkRefresh.
var viaRefresh = rotator{
	call: func(ctx context.Context, st storage.Store, id string, r storage.Rotation) (storage.RefreshState, error) {
		return st.(storage.Refresher).Refresh(ctx, id, r)
	},
	check: checkRefresh,
}

// checkRefresh checks what every answer of Refresh carries, stopped or
// not: nothing with ErrNotFound; else rotationAccount and the session as the
// store holds it after the call.
func checkRefresh(t *testing.T, st storage.Store, id string, got storage.RefreshState, err error) {
	t.Helper()
	if errors.Is(err, storage.ErrNotFound) {
		assert.Zero(t, got.Account, "no account comes back without a session")
		return
	}
	if err != nil && !sentinel(err) {
		return // the caller's require reports it
	}
	requireAccount(t, rotationAccount, got.Account, "the session's account comes back")
	requireSession(t, getSession(t, st, id), got.Session, "the session comes back as stored after the call")
}

// rotationAccount owns sess-1 in the rotation cases.
var rotationAccount = newAccount("acc-1", storage.LinkGuest, "guest-1", "Alpha")

// rotationCases checks the compare-and-swap of a refresh (see
// Sessions.RotateRefresh) through rot.
func (s suite) rotationCases(t *testing.T, rot rotator) {
	setup := setupRotation
	// answered checks what an answer of rot carries: no block or
	// withdrawal stops any of these refreshes.
	answered := func(t *testing.T, st storage.Store, id string, got storage.RefreshState, err error) {
		t.Helper()
		assert.False(t, got.Held, "nothing stops this refresh")
		if rot.check != nil {
			rot.check(t, st, id, got, err)
		}
	}
	refresh := func(t *testing.T, st storage.Store, id string, r storage.Rotation) (storage.Session, error) {
		t.Helper()
		got, err := rot.call(t.Context(), st, id, r)
		answered(t, st, id, got, err)
		return got.Session, err
	}

	s.test(t, "Rotate", func(t *testing.T, st storage.Store) {
		sess := setup(t, st)
		now := at(time.Minute)
		got, err := refresh(t, st, sess.ID, rotation("t0", "t1", now))
		require.NoError(t, err)
		want := rotated(sess, "t0", "t1", now)
		requireSession(t, want, got, "the updated session is returned")
		requireSession(t, want, getSession(t, st, sess.ID), "and stored")
	})

	s.test(t, "Chain", func(t *testing.T, st storage.Store) {
		sess := setup(t, st)
		want := sess
		for i := range 5 {
			now := at(time.Duration(i+1) * time.Hour)
			p, n := fmt.Sprintf("t%d", i), fmt.Sprintf("t%d", i+1)
			got, err := refresh(t, st, sess.ID, rotation(p, n, now))
			require.NoError(t, err, "rotation %d", i+1)
			want = rotated(want, p, n, now)
			requireSession(t, want, got)
		}
		assert.EqualValues(t, 5, getSession(t, st, sess.ID).Generation)
	})

	s.test(t, "RetryInsideGrace", func(t *testing.T, st storage.Store) {
		sess := setup(t, st)
		first, err := refresh(t, st, sess.ID, rotation("t0", "t1", at(time.Minute)))
		require.NoError(t, err)
		for _, d := range []time.Duration{0, time.Second, grace - time.Microsecond} {
			got, err := refresh(t, st, sess.ID, rotation("t0", "t1", at(time.Minute).Add(d)))
			require.NoError(t, err, "retry %v after the rotation", d)
			requireSession(t, first, got, "a retry returns the session unchanged")
		}
		requireSession(t, first, getSession(t, st, sess.ID), "a retry writes nothing")

		// The successor still rotates normally afterwards.
		got, err := refresh(t, st, sess.ID, rotation("t1", "t2", at(2*time.Minute)))
		require.NoError(t, err)
		assert.EqualValues(t, 2, got.Generation)
	})

	reuse := []struct {
		name string
		// after rotating t0→t1 at at(1m), present this
		presented, next string
		now             time.Time
		grace           time.Duration
	}{
		{"PrevWithOtherNext", "t0", "t9", at(time.Minute + time.Second), grace},
		{"PrevAtGraceEnd", "t0", "t1", at(time.Minute + grace), grace},
		{"PrevAfterGrace", "t0", "t1", at(time.Minute + time.Hour), grace},
		{"PrevWithoutGrace", "t0", "t1", at(time.Minute), 0},
		{"Unknown", "t-unknown", "t1", at(time.Minute + time.Second), grace},
		{"NextPresented", "t9", "t1", at(time.Minute + time.Second), grace},
	}
	for _, c := range reuse {
		s.test(t, "Reused/"+c.name, func(t *testing.T, st storage.Store) {
			sess := setup(t, st)
			_, err := refresh(t, st, sess.ID, rotation("t0", "t1", at(time.Minute)))
			require.NoError(t, err)
			r := rotation(c.presented, c.next, c.now)
			r.Grace = c.grace
			got, err := refresh(t, st, sess.ID, r)
			requireOnly(t, err, storage.ErrRefreshReused)
			assert.Equal(t, sess.ID, got.ID, "the revoked session is returned")
			assert.Equal(t, storage.ReasonReused, got.RevokeReason)
			assert.True(t, c.now.Equal(got.RevokedAt), "revoked at r.Now")
			requireRevoked(t, st, sess.ID, storage.ReasonReused, c.now)
			stored := getSession(t, st, sess.ID)
			assert.Equal(t, hash("t1"), stored.RefreshHash, "reuse does not rotate")
			assert.EqualValues(t, 1, stored.Generation)

			got, err = refresh(t, st, sess.ID, rotation("t1", "t2", c.now.Add(time.Second)))
			requireOnly(t, err, storage.ErrSessionRevoked, "the live token is dead too now")
			assert.Equal(t, storage.ReasonReused, got.RevokeReason)
		})
	}

	s.test(t, "Reused/TwoBack", func(t *testing.T, st storage.Store) {
		sess := setup(t, st)
		_, err := refresh(t, st, sess.ID, rotation("t0", "t1", at(time.Minute)))
		require.NoError(t, err)
		_, err = refresh(t, st, sess.ID, rotation("t1", "t2", at(time.Minute+time.Second)))
		require.NoError(t, err)
		now := at(time.Minute + 2*time.Second)
		_, err = refresh(t, st, sess.ID, rotation("t0", "t1", now))
		requireOnly(t, err, storage.ErrRefreshReused, "a token two rotations back is reuse even inside the grace window")
		requireRevoked(t, st, sess.ID, storage.ReasonReused, now)
	})

	s.test(t, "Expired", func(t *testing.T, st storage.Store) {
		sess := setup(t, st)
		for _, c := range []struct {
			name      string
			presented string
			now       time.Time
		}{
			{"AtExpiry", "t0", sess.ExpiresAt},
			{"AfterExpiry", "t0", sess.ExpiresAt.Add(time.Hour)},
			{"ExpiryBeforeReuse", "t-wrong", sess.ExpiresAt},
		} {
			_, err := refresh(t, st, sess.ID, rotation(c.presented, "t1", c.now))
			requireOnly(t, err, storage.ErrRefreshExpired, c.name)
		}
		requireSession(t, sess, getSession(t, st, sess.ID), "an expired refresh writes nothing")

		got, err := refresh(t, st, sess.ID, rotation("t0", "t1", sess.ExpiresAt.Add(-time.Microsecond)))
		require.NoError(t, err, "just before expiry")
		assert.EqualValues(t, 1, got.Generation)
	})

	s.test(t, "Revoked", func(t *testing.T, st storage.Store) {
		sess := setup(t, st)
		when := at(time.Minute)
		require.NoError(t, st.RevokeSession(t.Context(), sess.ID, storage.ReasonSignedOut, when))
		for _, c := range []struct {
			name      string
			presented string
			now       time.Time
		}{
			{"Current", "t0", at(2 * time.Minute)},
			{"RevokedBeforeExpired", "t0", sess.ExpiresAt.Add(time.Hour)},
			{"RevokedBeforeReused", "t-wrong", at(2 * time.Minute)},
		} {
			got, err := refresh(t, st, sess.ID, rotation(c.presented, "t1", c.now))
			requireOnly(t, err, storage.ErrSessionRevoked, c.name)
			assert.Equal(t, sess.ID, got.ID, c.name)
			assert.Equal(t, storage.ReasonSignedOut, got.RevokeReason, "%s: the reason is readable", c.name)
			assert.True(t, when.Equal(got.RevokedAt), c.name)
		}
		requireRevoked(t, st, sess.ID, storage.ReasonSignedOut, when)
		assert.Equal(t, hash("t0"), getSession(t, st, sess.ID).RefreshHash, "no rotation")
	})

	s.test(t, "NotFound", func(t *testing.T, st storage.Store) {
		setup(t, st)
		_, err := refresh(t, st, "sess-unknown", rotation("t0", "t1", at(time.Minute)))
		requireOnly(t, err, storage.ErrNotFound)
	})

	s.test(t, "Concurrent", func(t *testing.T, st storage.Store) {
		sess := setup(t, st)
		now := at(time.Minute)
		got := make([]storage.RefreshState, rotators)
		errs := race(rotators, func(i int) error {
			var err error
			got[i], err = rot.call(t.Context(), st, sess.ID, rotation("t0", "t1", now))
			return err
		})
		want := rotated(sess, "t0", "t1", now)
		for i := range rotators {
			require.NoError(t, errs[i], "caller %d: a retry inside the grace window is no error", i)
			requireSession(t, want, got[i].Session, "caller %d gets the one rotated session", i)
			answered(t, st, sess.ID, got[i], errs[i])
		}
		requireSession(t, want, getSession(t, st, sess.ID), "exactly one rotation")
	})

	s.test(t, "ConcurrentDifferentNext", func(t *testing.T, st storage.Store) {
		sess := setup(t, st)
		now := at(time.Minute)
		errs := race(rotators, func(i int) error {
			_, err := rot.call(t.Context(), st, sess.ID, rotation("t0", fmt.Sprintf("t1-%d", i), now))
			return err
		})
		var won, reused int
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, storage.ErrRefreshReused):
				reused++
			default:
				requireOnly(t, err, storage.ErrSessionRevoked, "caller %d", i)
			}
		}
		assert.Equal(t, 1, won, "exactly one rotation wins")
		assert.GreaterOrEqual(t, reused, 1, "a loser detects the reuse, the rest may find the session revoked")
		assert.EqualValues(t, 1, getSession(t, st, sess.ID).Generation)
		requireRevoked(t, st, sess.ID, storage.ReasonReused, now)
	})
}

// rotation presents token presented with successor next at now, with the
// suite's grace window.
func rotation(presented, next string, now time.Time) storage.Rotation {
	return storage.Rotation{Presented: hash(presented), Next: hash(next), Now: now, Grace: grace}
}

// setupRotation creates rotationAccount and its session sess-1 (on device
// device-sess-1), with refresh token "t0" live until at(24h).
func setupRotation(t *testing.T, st storage.Store) storage.Session {
	t.Helper()
	require.NoError(t, st.CreateAccount(t.Context(), rotationAccount))
	sess := newSession("sess-1", rotationAccount.ID, at(0))
	sess.RefreshHash = hash("t0")
	createSession(t, st, sess, 0)
	return sess
}

// rotated is sess after rotating presented→next at now.
func rotated(sess storage.Session, presented, next string, now time.Time) storage.Session {
	sess.PrevRefreshHash = hash(presented)
	sess.RefreshHash = hash(next)
	sess.Generation++
	sess.RotatedAt = now
	return sess
}
