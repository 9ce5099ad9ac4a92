// Package racetest holds the checks the shipped backends meant for several
// server processes (sqlite on one file, postgres on one database) run with
// two Stores on one database, as two processes would hold them. The
// storagetest suite races goroutines on one Store; these race two.
package racetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/storage"
)

// t0 is the checks' clock: fixed, on a microsecond boundary.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)

// callers is how many goroutines each check races, alternating between the
// two stores.
const callers = 16

// RotateRace races RotateRefresh calls on a and b, two Stores on one
// database, all presenting one token with different successors: exactly one
// rotates, every loser sees reuse (or the revocation a reuse caused), and the
// session ends revoked as reused after one rotation.
func RotateRace(t *testing.T, a, b storage.Store) {
	t.Helper()
	ctx := context.Background()
	stores := []storage.Store{a, b}
	_, err := a.CreateSession(ctx, storage.Session{
		ID: "s1", AccountID: "a1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour),
		RefreshHash: []byte("h0"), RotatedAt: t0,
	}, 0)
	require.NoError(t, err)

	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			_, errs[i] = stores[i%2].RotateRefresh(ctx, "s1", storage.Rotation{
				Presented: []byte("h0"), Next: fmt.Appendf(nil, "h1-%d", i), Now: t0.Add(time.Second),
			})
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, storage.ErrRefreshReused), errors.Is(err, storage.ErrSessionRevoked):
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	assert.Equal(t, 1, wins)
	got, err := b.GetSession(ctx, "s1")
	require.NoError(t, err)
	assert.Equal(t, int64(1), got.Generation)
	assert.Equal(t, storage.ReasonReused, got.RevokeReason)
}

// KeepRace races sign-ins of one account (CreateSession with keep 2) on a
// and b, two Stores on one database: none fails (a backend must wait for a
// lock, not give up), and exactly keep sessions stay live.
func KeepRace(t *testing.T, a, b storage.Store) {
	t.Helper()
	ctx := context.Background()
	stores := []storage.Store{a, b}
	const keep = 2
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			_, err := stores[i%2].CreateSession(ctx, storage.Session{
				ID: fmt.Sprint("s", i), AccountID: "a1", CreatedAt: t0.Add(time.Duration(i) * time.Second),
				ExpiresAt: t0.Add(time.Hour), RefreshHash: fmt.Appendf(nil, "h0-%d", i), RotatedAt: t0,
			}, keep)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	live := 0
	for i := range callers {
		s, err := a.GetSession(ctx, fmt.Sprint("s", i))
		require.NoError(t, err)
		if !s.Revoked() {
			live++
		}
	}
	assert.Equal(t, keep, live)
}

// RefreshRace races storage.Refresher calls on a and b, two Stores on one
// database, all presenting one token with the same successor, as clients
// retrying one refresh do: none fails, every caller gets the one rotated
// session and the account, and the session is rotated exactly once. A
// second round, every caller presenting that token with its own successor,
// rotates once more and revokes the session as reused.
func RefreshRace(t *testing.T, a, b storage.Store) {
	t.Helper()
	ctx := context.Background()
	refreshers := []storage.Refresher{a.(storage.Refresher), b.(storage.Refresher)}
	require.NoError(t, a.CreateAccount(ctx, storage.Account{ID: "a1", OpenID: "o1", LinkedType: storage.LinkGuest, LinkedID: "g1"}))
	_, err := a.CreateSession(ctx, storage.Session{
		ID: "s1", AccountID: "a1", DeviceID: "d1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour),
		RefreshHash: []byte("h0"), RotatedAt: t0,
	}, 0)
	require.NoError(t, err)

	race := func(next func(i int) []byte, presented []byte, now time.Time) ([]storage.RefreshState, []error) {
		got := make([]storage.RefreshState, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				got[i], errs[i] = refreshers[i%2].Refresh(ctx, "s1", storage.Rotation{
					Presented: presented, Next: next(i), Now: now, Grace: time.Minute,
				})
			})
		}
		wg.Wait()
		return got, errs
	}

	got, errs := race(func(int) []byte { return []byte("h1") }, []byte("h0"), t0.Add(time.Second))
	for i := range callers {
		require.NoError(t, errs[i], "caller %d", i)
		assert.Equal(t, "a1", got[i].Account.ID, "caller %d", i)
		assert.Equal(t, int64(1), got[i].Session.Generation, "caller %d", i)
		assert.Equal(t, []byte("h1"), got[i].Session.RefreshHash, "caller %d", i)
	}
	s, err := b.GetSession(ctx, "s1")
	require.NoError(t, err)
	assert.Equal(t, int64(1), s.Generation)
	assert.False(t, s.Revoked())

	_, errs = race(func(i int) []byte { return fmt.Appendf(nil, "h2-%d", i) }, []byte("h1"), t0.Add(2*time.Second))
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, storage.ErrRefreshReused), errors.Is(err, storage.ErrSessionRevoked):
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	assert.Equal(t, 1, wins)
	s, err = a.GetSession(ctx, "s1")
	require.NoError(t, err)
	assert.Equal(t, int64(2), s.Generation)
	assert.Equal(t, storage.ReasonReused, s.RevokeReason)
}

// ClaimRace races, on a and b, two Stores on one database that implement
// storage.Identities, first sign-ins (CreateAccount) and links to existing
// accounts (LinkIdentity) of one identity: exactly one wins, every other
// caller gets ConflictError{FieldLink}, and the identity finds the winner.
func ClaimRace(t *testing.T, a, b storage.Store) {
	t.Helper()
	ctx := context.Background()
	stores := []storage.Store{a, b}
	claimed := storage.Identity{Type: "apple", Subject: "apple-claimed", LinkedAt: t0}
	owner := func(i int) string { return fmt.Sprint("a", i) }
	creates := func(i int) bool { return i%4 < 2 }
	for i := range callers {
		if !creates(i) {
			require.NoError(t, a.CreateAccount(ctx, storage.Account{
				ID: owner(i), OpenID: "o" + owner(i), LinkedType: storage.LinkGuest, LinkedID: "g" + owner(i), CreatedAt: t0,
			}))
		}
	}
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			st := stores[i%2]
			if creates(i) {
				errs[i] = st.CreateAccount(ctx, storage.Account{
					ID: owner(i), OpenID: "o" + owner(i), LinkedType: claimed.Type, LinkedID: claimed.Subject, CreatedAt: t0,
				})
				return
			}
			errs[i] = st.(storage.Identities).LinkIdentity(ctx, owner(i), claimed)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			assert.Equal(t, -1, winner, "two winners")
			winner = i
			continue
		}
		assert.ErrorIs(t, err, storage.ErrConflict, "caller %d", i)
		assert.Equal(t, storage.FieldLink, storage.ConflictField(err), "caller %d", i)
	}
	require.NotEqual(t, -1, winner, "no winner")
	got, err := b.GetAccountByLink(ctx, claimed.Type, claimed.Subject)
	require.NoError(t, err)
	assert.Equal(t, owner(winner), got.ID)
}
