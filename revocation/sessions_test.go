package revocation

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/internal/testclock"
	"github.com/gameauth/gameauth/storage"
)

var start = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// The set's maps hold no pointers, so the garbage collector never scans
// them however many sessions are revoked.
func TestRevokedSessionsHoldNoPointers(t *testing.T) {
	var noPointers func(reflect.Type) bool
	noPointers = func(t reflect.Type) bool {
		switch t.Kind() {
		case reflect.Int, reflect.Int64, reflect.Uint8, reflect.Uint32, reflect.Uint64:
			return true
		case reflect.Array:
			return noPointers(t.Elem())
		case reflect.Struct:
			for i := range t.NumField() {
				if !noPointers(t.Field(i).Type) {
					return false
				}
			}
			return true
		}
		return false
	}
	m := reflect.TypeOf(sessionStripe{}.m)
	assert.True(t, noPointers(m.Key()), "key %v", m.Key())
	assert.True(t, noPointers(m.Elem()), "value %v", m.Elem())
}

// Each session answers with its own reason, known or not; the latest
// revocation of a session is the one kept, whatever order they come in.
func TestRevokedSessionsKeepReasons(t *testing.T) {
	c := testclock.New(start)
	v := New(nil, Config{Retain: time.Hour, Clock: c.Now})
	ctx := context.Background()
	v.SessionsRevoked(ctx, []storage.Revocation{
		{SessionID: "s1", Reason: storage.ReasonReused, At: start},
		{SessionID: "s2", Reason: "custom", At: start},
		{SessionID: "s3", Reason: storage.ReasonAdmin, At: start},
		{SessionID: "s3", Reason: storage.ReasonSignedOut, At: start.Add(-time.Minute)}, // an older one, read again
		{SessionID: "s4", Reason: "custom", At: start},
	})
	for id, want := range map[string]storage.RevokeReason{"s1": storage.ReasonReused, "s2": "custom", "s3": storage.ReasonAdmin, "s4": "custom"} {
		got, ok := v.SessionRevoked(id)
		assert.True(t, ok, id)
		assert.Equal(t, want, got, id)
	}
	assert.Len(t, *v.sessions.reasons.Load(), 7, "the six known reasons and one more, once")
	_, ok := v.SessionRevoked("")
	assert.False(t, ok)
}

// A session revoked Retain ago leaves memory at a later write once a
// sweep is due; one revoked since stays.
func TestRevokedSessionsAreSwept(t *testing.T) {
	c := testclock.New(start)
	v := New(nil, Config{Retain: time.Hour, Clock: c.Now})
	ctx := context.Background()
	var old []storage.Revocation
	for i := range 100 {
		old = append(old, storage.Revocation{SessionID: fmt.Sprintf("old-%d", i), Reason: storage.ReasonSignedOut, At: start})
	}
	v.SessionsRevoked(ctx, old)
	require.Equal(t, 100, v.sessions.len())

	c.Advance(30 * time.Minute)
	v.SessionsRevoked(ctx, []storage.Revocation{{SessionID: "mid", Reason: storage.ReasonSignedOut, At: c.Now()}})
	c.Advance(30 * time.Minute) // the old ones are at Retain now
	for _, r := range old {
		_, ok := v.SessionRevoked(r.SessionID)
		require.False(t, ok, "past Retain a revocation no longer answers")
	}
	// Write to every stripe so that each sweeps.
	var fresh []storage.Revocation
	touched := map[*sessionStripe]bool{}
	for i := 0; len(touched) < sessionStripes; i++ {
		id := fmt.Sprintf("new-%d", i)
		k := v.sessions.key(id)
		touched[v.sessions.stripe(&k)] = true
		fresh = append(fresh, storage.Revocation{SessionID: id, Reason: storage.ReasonSignedOut, At: c.Now()})
	}
	v.SessionsRevoked(ctx, fresh)
	assert.Equal(t, 1+len(fresh), v.sessions.len(), "the old ones are gone; the one from half an hour ago stays")
	_, ok := v.SessionRevoked("mid")
	assert.True(t, ok)
}

// Readers and writers race on the same sessions; every revocation written
// is then seen.
func TestRevokedSessionsConcurrently(t *testing.T) {
	v := New(nil, Config{Retain: time.Hour})
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				id := fmt.Sprintf("s-%d", i)
				v.SessionsRevoked(ctx, []storage.Revocation{{SessionID: id, Reason: storage.RevokeReason(fmt.Sprint("r", w)), At: time.Now()}})
				v.SessionRevoked(fmt.Sprintf("s-%d", 499-i))
			}
		})
	}
	wg.Wait()
	for i := range 500 {
		_, ok := v.SessionRevoked(fmt.Sprintf("s-%d", i))
		require.True(t, ok)
	}
}

// Every change of a view moves it to a generation no view has had; reads
// leave it where it is.
func TestGeneration(t *testing.T) {
	c := testclock.New(start)
	a := New(emptyFeed{}, Config{Retain: time.Hour, Clock: c.Now})
	b := New(emptyFeed{}, Config{Retain: time.Hour, Clock: c.Now})
	ctx := context.Background()
	seen := map[uint64]bool{}
	next := func(v *View, why string) {
		t.Helper()
		g := v.Generation()
		require.NotZero(t, g)
		require.False(t, seen[g], "%s: generation %d seen before", why, g)
		seen[g] = true
	}
	next(a, "made")
	next(b, "made")
	a.SessionsRevoked(ctx, []storage.Revocation{{SessionID: "s", Reason: storage.ReasonAdmin, At: start}})
	next(a, "revoked")
	b.SessionsRevoked(ctx, []storage.Revocation{{SessionID: "s", Reason: storage.ReasonAdmin, At: start}})
	next(b, "the other view revoked")
	a.BlockChanged(ctx, storage.Block{Key: "k", Kind: storage.BlockPlayer, Subject: "p", CreatedAt: start})
	next(a, "blocked")
	a.BlockChanged(ctx, storage.Block{Key: "k", Kind: storage.BlockPlayer, Subject: "p", CreatedAt: start, LiftedAt: start})
	next(a, "lifted")
	require.NoError(t, a.Sync(ctx))
	next(a, "synced")

	g := a.Generation()
	a.SessionRevoked("s")
	a.Blocked(storage.BlockPlayer, "p", "")
	a.SessionsRevoked(ctx, nil)
	assert.Equal(t, g, a.Generation(), "reads and empty batches change nothing")
}

type emptyFeed struct{}

func (emptyFeed) RevokedSince(context.Context, time.Time) ([]storage.Revocation, error) {
	return nil, nil
}
func (emptyFeed) ListActiveBlocks(context.Context, time.Time) ([]storage.Block, error) {
	return nil, nil
}
