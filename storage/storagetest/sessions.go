package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gameauth/gameauth/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rotators is how many goroutines race to rotate one refresh token.
const rotators = 24

// grace is the retry window the rotation tests use.
const grace = 10 * time.Second

// newSession returns a live session of account created at created, living a
// day, with refresh hash hash(id+"/0"), and a client address and device
// model (so every comparison of sessions checks they round-trip).
func newSession(id, account string, created time.Time) storage.Session {
	return storage.Session{
		ID:          id,
		AccountID:   account,
		DeviceID:    "device-" + id,
		Platform:    "aos",
		CreatedAt:   created,
		ExpiresAt:   created.Add(24 * time.Hour),
		RefreshHash: hash(id + "/0"),
		RotatedAt:   created,
		ClientAddr:  "198.51.100." + fmt.Sprint(len(id)),
		DeviceModel: "Galaxy S24 (" + id + ") — 갤럭시",
	}
}

func requireSession(t *testing.T, want, got storage.Session, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, normSession(want), normSession(got), msgAndArgs...)
}

func getSession(t *testing.T, st storage.Sessions, id string) storage.Session {
	t.Helper()
	s, err := st.GetSession(t.Context(), id)
	require.NoError(t, err, "GetSession(%q)", id)
	return s
}

func createSession(t *testing.T, st storage.Sessions, s storage.Session, keep int) []string {
	t.Helper()
	replaced, err := st.CreateSession(t.Context(), s, keep)
	require.NoError(t, err, "CreateSession(%q, keep=%d)", s.ID, keep)
	return replaced
}

// requireLive asserts the session exists and is not revoked.
func requireLive(t *testing.T, st storage.Sessions, id string) {
	t.Helper()
	s := getSession(t, st, id)
	require.False(t, s.Revoked(), "session %s should be live, revoked %v (%s)", id, s.RevokedAt, s.RevokeReason)
	require.Empty(t, s.RevokeReason, "a live session has no reason")
}

// requireRevoked asserts the session was revoked with reason at when.
func requireRevoked(t *testing.T, st storage.Sessions, id string, reason storage.RevokeReason, when time.Time) {
	t.Helper()
	s := getSession(t, st, id)
	require.True(t, s.Revoked(), "session %s should be revoked", id)
	require.Equal(t, reason, s.RevokeReason, "session %s reason", id)
	require.True(t, when.Equal(s.RevokedAt), "session %s revoked at %v, want %v", id, s.RevokedAt, when)
}

func (s suite) sessions(t *testing.T) {
	s.test(t, "CreateAndGet", func(t *testing.T, st storage.Store) {
		sess := newSession("sess-1", "acc-1", at(0))
		sess.Platform = "ios"
		sess.ExpiresAt = at(365 * 24 * time.Hour)
		replaced := createSession(t, st, sess, 1)
		assert.Empty(t, replaced, "nothing to replace")
		requireSession(t, sess, getSession(t, st, sess.ID))

		// A session carried over mid-life keeps its refresh state.
		moved := newSession("sess-2", "acc-1", at(time.Hour))
		moved.PrevRefreshHash = hash("before")
		moved.Generation = 41
		moved.RotatedAt = at(2 * time.Hour)
		createSession(t, st, moved, 0)
		requireSession(t, moved, getSession(t, st, moved.ID))

		_, err := st.GetSession(t.Context(), "sess-unknown")
		requireOnly(t, err, storage.ErrNotFound)
	})

	s.test(t, "DuplicateID", func(t *testing.T, st storage.Store) {
		sess := newSession("sess-1", "acc-1", at(0))
		createSession(t, st, sess, 0)
		dup := newSession("sess-1", "acc-2", at(time.Minute))
		_, err := st.CreateSession(t.Context(), dup, 1)
		requireConflictMaybeField(t, err, storage.FieldID)
		requireSession(t, sess, getSession(t, st, sess.ID), "the first session is untouched")
	})

	s.test(t, "KeepOne", func(t *testing.T, st storage.Store) {
		old1 := newSession("sess-1", "acc-1", at(0))
		old2 := newSession("sess-2", "acc-1", at(time.Minute))
		gone := newSession("sess-3", "acc-1", at(2*time.Minute))
		other := newSession("sess-other", "acc-2", at(0))
		for _, x := range []storage.Session{old1, old2, gone, other} {
			createSession(t, st, x, 0)
		}
		require.NoError(t, st.RevokeSession(t.Context(), gone.ID, storage.ReasonSignedOut, at(3*time.Minute)))

		now := newSession("sess-4", "acc-1", at(time.Hour))
		replaced := createSession(t, st, now, 1)
		assert.Equal(t, []string{old1.ID, old2.ID}, sorted(replaced), "single-device: every older live session is replaced")
		requireRevoked(t, st, old1.ID, storage.ReasonReplaced, now.CreatedAt)
		requireRevoked(t, st, old2.ID, storage.ReasonReplaced, now.CreatedAt)
		requireRevoked(t, st, gone.ID, storage.ReasonSignedOut, at(3*time.Minute))
		requireLive(t, st, now.ID)
		requireLive(t, st, other.ID)
		requireSession(t, now, getSession(t, st, now.ID))
	})

	s.test(t, "KeepTwo", func(t *testing.T, st storage.Store) {
		// Created out of order: "oldest" is by CreatedAt.
		s1 := newSession("sess-b", "acc-1", at(time.Minute))
		s2 := newSession("sess-a", "acc-1", at(2*time.Minute))
		s3 := newSession("sess-c", "acc-1", at(0))
		createSession(t, st, s1, 0)
		createSession(t, st, s2, 0)
		createSession(t, st, s3, 0)

		s4 := newSession("sess-d", "acc-1", at(time.Hour))
		assert.Equal(t, sorted([]string{s3.ID, s1.ID}), sorted(createSession(t, st, s4, 2)), "the two oldest go")
		requireRevoked(t, st, s3.ID, storage.ReasonReplaced, s4.CreatedAt)
		requireRevoked(t, st, s1.ID, storage.ReasonReplaced, s4.CreatedAt)
		requireLive(t, st, s2.ID)
		requireLive(t, st, s4.ID)

		s5 := newSession("sess-e", "acc-1", at(2*time.Hour))
		assert.Equal(t, []string{s2.ID}, createSession(t, st, s5, 2))
		requireLive(t, st, s4.ID)
		requireLive(t, st, s5.ID)

		s6 := newSession("sess-f", "acc-1", at(3*time.Hour))
		assert.Equal(t, []string{s4.ID}, createSession(t, st, s6, 2))
	})

	s.test(t, "KeepUnderLimit", func(t *testing.T, st storage.Store) {
		createSession(t, st, newSession("sess-1", "acc-1", at(0)), 0)
		assert.Empty(t, createSession(t, st, newSession("sess-2", "acc-1", at(time.Minute)), 3))
		assert.Empty(t, createSession(t, st, newSession("sess-3", "acc-1", at(2*time.Minute)), 3))
		requireLive(t, st, "sess-1")
		requireLive(t, st, "sess-2")
		requireLive(t, st, "sess-3")
	})

	s.test(t, "KeepZeroIsUnlimited", func(t *testing.T, st storage.Store) {
		for i := range 5 {
			assert.Empty(t, createSession(t, st, newSession(fmt.Sprintf("sess-%d", i), "acc-1", at(time.Duration(i)*time.Minute)), 0))
		}
		for i := range 5 {
			requireLive(t, st, fmt.Sprintf("sess-%d", i))
		}
	})

	s.test(t, "ConcurrentKeepOne", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		createSession(t, st, newSession("sess-old", "acc-1", at(0)), 0)
		const n = 8
		replaced := make([][]string, n)
		errs := race(n, func(i int) error {
			var err error
			replaced[i], err = st.CreateSession(ctx, newSession(fmt.Sprintf("sess-%d", i), "acc-1", at(time.Hour+time.Duration(i)*time.Second)), 1)
			return err
		})
		for i, err := range errs {
			require.NoError(t, err, "creator %d", i)
		}
		all := []string{"sess-old"}
		for i := range n {
			all = append(all, fmt.Sprintf("sess-%d", i))
		}
		var live []string
		for _, id := range all {
			if !getSession(t, st, id).Revoked() {
				live = append(live, id)
			}
		}
		require.Len(t, live, 1, "exactly one session stays live, got %v", live)

		// Every other session was replaced exactly once, by someone.
		var got []string
		for _, r := range replaced {
			got = append(got, r...)
		}
		var want []string
		for _, id := range all {
			if id != live[0] {
				want = append(want, id)
				assert.Equal(t, storage.ReasonReplaced, getSession(t, st, id).RevokeReason, id)
			}
		}
		assert.Equal(t, sorted(want), sorted(got), "the replaced lists name each revoked session once")
	})
}

func (s suite) rotation(t *testing.T) {
	s.rotationCases(t, viaRotateRefresh)

	s.test(t, "ConcurrentSessions", func(t *testing.T, st storage.Store) {
		// Rotations of different sessions do not interfere.
		const n = 8
		for i := range n {
			sess := newSession(fmt.Sprintf("sess-%d", i), "acc-1", at(0))
			createSession(t, st, sess, 0)
		}
		errs := race(n, func(i int) error {
			id := fmt.Sprintf("sess-%d", i)
			prev := id + "/0"
			for j := 1; j <= 10; j++ {
				next := fmt.Sprintf("%s/%d", id, j)
				if _, err := st.RotateRefresh(t.Context(), id, rotation(prev, next, at(time.Duration(j)*time.Minute))); err != nil {
					return err
				}
				prev = next
			}
			return nil
		})
		for i := range n {
			require.NoError(t, errs[i])
			got := getSession(t, st, fmt.Sprintf("sess-%d", i))
			assert.EqualValues(t, 10, got.Generation)
			assert.False(t, got.Revoked())
		}
	})
}

func (s suite) revocation(t *testing.T) {
	s.test(t, "RevokeSession", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		a := newSession("sess-a", "acc-1", at(0))
		b := newSession("sess-b", "acc-1", at(0))
		createSession(t, st, a, 0)
		createSession(t, st, b, 0)

		require.NoError(t, st.RevokeSession(ctx, a.ID, storage.ReasonAdmin, at(time.Minute)))
		requireRevoked(t, st, a.ID, storage.ReasonAdmin, at(time.Minute))
		requireLive(t, st, b.ID)

		// The first reason and time win.
		require.NoError(t, st.RevokeSession(ctx, a.ID, storage.ReasonPasswordChanged, at(time.Hour)), "revoking again is not an error")
		requireRevoked(t, st, a.ID, storage.ReasonAdmin, at(time.Minute))

		requireOnly(t, st.RevokeSession(ctx, "sess-unknown", storage.ReasonAdmin, at(time.Hour)), storage.ErrNotFound)

		// Everything else about the session is kept.
		want := a
		want.RevokedAt, want.RevokeReason = at(time.Minute), storage.ReasonAdmin
		requireSession(t, want, getSession(t, st, a.ID))
	})

	s.test(t, "RevokeSessions", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		for _, x := range []storage.Session{
			newSession("sess-1", "acc-1", at(0)),
			newSession("sess-2", "acc-1", at(time.Minute)),
			newSession("sess-3", "acc-1", at(2*time.Minute)),
			newSession("sess-gone", "acc-1", at(0)),
			newSession("sess-other", "acc-2", at(0)),
		} {
			createSession(t, st, x, 0)
		}
		require.NoError(t, st.RevokeSession(ctx, "sess-gone", storage.ReasonSignedOut, at(time.Second)))

		revoked, err := st.RevokeSessions(ctx, "acc-1", "", storage.ReasonPasswordChanged, at(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, []string{"sess-1", "sess-2", "sess-3"}, sorted(revoked), "only live sessions are revoked")
		for _, id := range []string{"sess-1", "sess-2", "sess-3"} {
			requireRevoked(t, st, id, storage.ReasonPasswordChanged, at(time.Hour))
		}
		requireRevoked(t, st, "sess-gone", storage.ReasonSignedOut, at(time.Second))
		requireLive(t, st, "sess-other")

		revoked, err = st.RevokeSessions(ctx, "acc-1", "", storage.ReasonAdmin, at(2*time.Hour))
		require.NoError(t, err)
		assert.Empty(t, revoked, "nothing left to revoke")
		requireRevoked(t, st, "sess-1", storage.ReasonPasswordChanged, at(time.Hour))

		revoked, err = st.RevokeSessions(ctx, "acc-unknown", "", storage.ReasonAdmin, at(2*time.Hour))
		require.NoError(t, err, "an account without sessions is no error")
		assert.Empty(t, revoked)
	})

	s.test(t, "RevokeSessionsExcept", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		for _, x := range []storage.Session{
			newSession("sess-1", "acc-1", at(0)),
			newSession("sess-2", "acc-1", at(time.Minute)),
			newSession("sess-3", "acc-1", at(2*time.Minute)),
		} {
			createSession(t, st, x, 0)
		}
		revoked, err := st.RevokeSessions(ctx, "acc-1", "sess-2", storage.ReasonPasswordChanged, at(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, []string{"sess-1", "sess-3"}, sorted(revoked))
		requireLive(t, st, "sess-2")
		requireRevoked(t, st, "sess-1", storage.ReasonPasswordChanged, at(time.Hour))

		// An except that is another account's session spares nothing.
		createSession(t, st, newSession("sess-x", "acc-2", at(0)), 0)
		revoked, err = st.RevokeSessions(ctx, "acc-1", "sess-x", storage.ReasonAdmin, at(2*time.Hour))
		require.NoError(t, err)
		assert.Equal(t, []string{"sess-2"}, revoked)
		requireLive(t, st, "sess-x")
	})

	s.test(t, "ConcurrentRevokeOnce", func(t *testing.T, st storage.Store) {
		createSession(t, st, newSession("sess-1", "acc-1", at(0)), 0)
		reasons := []storage.RevokeReason{storage.ReasonSignedOut, storage.ReasonAdmin, storage.ReasonPasswordChanged}
		errs := race(concurrency, func(i int) error {
			if i%2 == 0 {
				return st.RevokeSession(t.Context(), "sess-1", reasons[i%len(reasons)], at(time.Duration(i+1)*time.Minute))
			}
			_, err := st.RevokeSessions(t.Context(), "acc-1", "", reasons[i%len(reasons)], at(time.Duration(i+1)*time.Minute))
			return err
		})
		for i, err := range errs {
			require.NoError(t, err, "revoker %d", i)
		}
		// Whoever won, reason and time come from the same call.
		got := getSession(t, st, "sess-1")
		require.True(t, got.Revoked())
		i := int(got.RevokedAt.Sub(at(0))/time.Minute) - 1
		require.True(t, i >= 0 && i < concurrency, "RevokedAt %v is one of the calls'", got.RevokedAt)
		assert.Equal(t, reasons[i%len(reasons)], got.RevokeReason, "reason and time of one call")
		feed, err := st.RevokedSince(t.Context(), at(0))
		require.NoError(t, err)
		assert.Len(t, feed, 1, "one revocation in the feed")
	})
}

func (s suite) changeFeed(t *testing.T) {
	s.test(t, "RevokedSince", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		// Revocations happen out of time order and by every path.
		for _, x := range []storage.Session{
			newSession("sess-signout", "acc-1", at(0)),
			newSession("sess-admin", "acc-2", at(0)),
			newSession("sess-pw", "acc-3", at(0)),
			newSession("sess-reused", "acc-4", at(0)),
			newSession("sess-live", "acc-5", at(0)),
			newSession("sess-replaced", "acc-6", at(0)),
			newSession("sess-withdrawn", "acc-7", at(0)),
		} {
			createSession(t, st, x, 0)
		}
		require.NoError(t, st.RevokeSession(ctx, "sess-signout", storage.ReasonSignedOut, at(5*time.Minute)))
		require.NoError(t, st.RevokeSession(ctx, "sess-admin", storage.ReasonAdmin, at(1*time.Minute)))
		_, err := st.RevokeSessions(ctx, "acc-3", "", storage.ReasonPasswordChanged, at(3*time.Minute))
		require.NoError(t, err)
		_, err = st.RotateRefresh(ctx, "sess-reused", storage.Rotation{Presented: hash("wrong"), Next: hash("n"), Now: at(4 * time.Minute), Grace: grace})
		require.ErrorIs(t, err, storage.ErrRefreshReused)
		createSession(t, st, newSession("sess-new", "acc-6", at(2*time.Minute)), 1)
		_, err = st.Withdraw(ctx, storage.Withdrawal{AccountID: "acc-7", KeyHash: hash("w"), RequestedAt: at(6 * time.Minute), Deadline: at(7 * 24 * time.Hour)})
		require.NoError(t, err)
		// A second revocation changes nothing in the feed.
		require.NoError(t, st.RevokeSession(ctx, "sess-admin", storage.ReasonSignedOut, at(10*time.Minute)))

		all := []storage.Revocation{
			{SessionID: "sess-admin", AccountID: "acc-2", Reason: storage.ReasonAdmin, At: at(1 * time.Minute)},
			{SessionID: "sess-replaced", AccountID: "acc-6", Reason: storage.ReasonReplaced, At: at(2 * time.Minute)},
			{SessionID: "sess-pw", AccountID: "acc-3", Reason: storage.ReasonPasswordChanged, At: at(3 * time.Minute)},
			{SessionID: "sess-reused", AccountID: "acc-4", Reason: storage.ReasonReused, At: at(4 * time.Minute)},
			{SessionID: "sess-signout", AccountID: "acc-1", Reason: storage.ReasonSignedOut, At: at(5 * time.Minute)},
			{SessionID: "sess-withdrawn", AccountID: "acc-7", Reason: storage.ReasonWithdrawn, At: at(6 * time.Minute)},
		}
		for _, c := range []struct {
			name  string
			since time.Time
			want  []storage.Revocation
		}{
			{"Everything", at(0), all},
			{"AtARevocation", at(3 * time.Minute), all[2:]},
			{"JustAfter", at(3*time.Minute + time.Microsecond), all[3:]},
			{"JustBefore", at(3*time.Minute - time.Microsecond), all[2:]},
			{"Last", at(6 * time.Minute), all[5:]},
			{"Nothing", at(6*time.Minute + time.Microsecond), nil},
		} {
			got, err := st.RevokedSince(ctx, c.since)
			require.NoError(t, err, c.name)
			assert.Equal(t, normRevocations(c.want), normRevocations(got), c.name)
		}
	})

	s.test(t, "RevokedSinceEmpty", func(t *testing.T, st storage.Store) {
		createSession(t, st, newSession("sess-1", "acc-1", at(0)), 0)
		got, err := st.RevokedSince(t.Context(), time.Time{})
		require.NoError(t, err)
		assert.Empty(t, got, "live sessions are not in the feed")
	})

	s.test(t, "ActiveBlocks", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		list := func(now time.Time) []string {
			t.Helper()
			bs, err := st.ListActiveBlocks(ctx, now)
			require.NoError(t, err)
			var keys []string
			for _, b := range bs {
				assert.True(t, b.ActiveAt(now), "listed block %s is active", b.Key)
				keys = append(keys, b.Key)
			}
			return sorted(keys)
		}
		assert.Empty(t, list(at(0)))
		require.NoError(t, st.CreateBlock(ctx, newBlock("blk-1", storage.BlockPlayer, "acc-1", at(0), at(time.Hour))))
		require.NoError(t, st.CreateBlock(ctx, newBlock("blk-2", storage.BlockDevice, "dev-1", at(0), time.Time{})))
		require.NoError(t, st.CreateBlock(ctx, newBlock("blk-3", storage.BlockPlayer, "acc-2", at(0), at(2*time.Hour))))
		assert.Equal(t, []string{"blk-1", "blk-2", "blk-3"}, list(at(time.Minute)), "creates show up")

		n, err := st.LiftBlocks(ctx, storage.BlockPlayer, "acc-2", at(10*time.Minute))
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		assert.Equal(t, []string{"blk-1", "blk-2"}, list(at(10*time.Minute)), "lifts show up")
		assert.Equal(t, []string{"blk-1", "blk-2", "blk-3"}, list(at(10*time.Minute-time.Microsecond)), "before the lift it was in force")
		assert.Equal(t, []string{"blk-2"}, list(at(time.Hour)), "expiry shows up")
		assert.Equal(t, []string{"blk-2"}, list(at(1000*time.Hour)), "a permanent block stays")
	})
}

func (s suite) deleteSessionsBefore(t *testing.T) {
	s.test(t, "Delete", func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		cutoff := at(48 * time.Hour)
		mk := func(id string, expires time.Time) {
			x := newSession(id, "acc-1", at(0))
			x.ExpiresAt = expires
			createSession(t, st, x, 0)
		}
		mk("expired", cutoff.Add(-time.Microsecond))
		mk("expires-at-cutoff", cutoff)
		mk("live", cutoff.Add(time.Hour))
		mk("revoked-before", cutoff.Add(time.Hour))
		mk("revoked-at-cutoff", cutoff.Add(time.Hour))
		mk("revoked-after", cutoff.Add(time.Hour))
		mk("revoked-after-expired", cutoff.Add(-time.Hour))
		require.NoError(t, st.RevokeSession(ctx, "revoked-before", storage.ReasonSignedOut, cutoff.Add(-time.Microsecond)))
		require.NoError(t, st.RevokeSession(ctx, "revoked-at-cutoff", storage.ReasonSignedOut, cutoff))
		require.NoError(t, st.RevokeSession(ctx, "revoked-after", storage.ReasonSignedOut, cutoff.Add(time.Second)))
		require.NoError(t, st.RevokeSession(ctx, "revoked-after-expired", storage.ReasonSignedOut, cutoff.Add(time.Second)))

		n, err := st.DeleteSessionsBefore(ctx, cutoff)
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		for _, id := range []string{"expired", "revoked-before", "revoked-after-expired"} {
			_, err := st.GetSession(ctx, id)
			requireOnly(t, err, storage.ErrNotFound, id)
		}
		for _, id := range []string{"expires-at-cutoff", "live", "revoked-at-cutoff", "revoked-after"} {
			getSession(t, st, id)
		}

		n, err = st.DeleteSessionsBefore(ctx, cutoff)
		require.NoError(t, err)
		assert.Zero(t, n, "nothing left to delete")

	})
}
