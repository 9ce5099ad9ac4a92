package revocation_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gameauth/gameauth/internal/testclock"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/revocation"
	"github.com/gameauth/gameauth/storage"
)

// feed is a Feed whose contents the test sets.
type feed struct {
	mu     sync.Mutex
	revs   []storage.Revocation
	blocks []storage.Block
	err    error
	since  []time.Time
	// during runs inside ListActiveBlocks, after the snapshot was taken:
	// a change that lands while a sync is in flight.
	during func()
}

func (f *feed) RevokedSince(_ context.Context, since time.Time) ([]storage.Revocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.since = append(f.since, since)
	if f.err != nil {
		return nil, f.err
	}
	var out []storage.Revocation
	for _, r := range f.revs {
		if !r.At.Before(since) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *feed) ListActiveBlocks(_ context.Context, now time.Time) ([]storage.Block, error) {
	f.mu.Lock()
	var out []storage.Block
	for _, b := range f.blocks {
		if b.ActiveAt(now) {
			out = append(out, b)
		}
	}
	during := f.during
	f.during = nil
	f.mu.Unlock()
	if during != nil {
		during()
	}
	return out, nil
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func newView(f *feed, c *testclock.Clock) *revocation.View {
	return revocation.New(f, revocation.Config{Retain: time.Hour, Clock: c.Now})
}

func TestSessionRevokedUntilRetainPasses(t *testing.T) {
	c := testclock.New(t0)
	v := newView(&feed{}, c)
	v.SessionsRevoked(context.Background(), []storage.Revocation{{SessionID: "s1", AccountID: "a", Reason: storage.ReasonReplaced, At: t0}})

	reason, ok := v.SessionRevoked("s1")
	require.True(t, ok)
	assert.Equal(t, storage.ReasonReplaced, reason)
	_, ok = v.SessionRevoked("s2")
	assert.False(t, ok)

	// Once every access token of the session has expired, the entry is moot.
	c.Advance(time.Hour)
	_, ok = v.SessionRevoked("s1")
	assert.False(t, ok)
}

func TestBlockedCoversServices(t *testing.T) {
	c := testclock.New(t0)
	v := newView(&feed{}, c)
	ctx := context.Background()
	v.BlockChanged(ctx, storage.Block{Key: "k1", Kind: storage.BlockPlayer, Subject: "p1", Services: []string{"chat"}, CreatedAt: t0})
	v.BlockChanged(ctx, storage.Block{Key: "k2", Kind: storage.BlockPlayer, Subject: "p2", CreatedAt: t0, Until: t0.Add(time.Minute)})
	v.BlockChanged(ctx, storage.Block{Key: "k3", Kind: storage.BlockDevice, Subject: "d1", CreatedAt: t0})

	tests := []struct {
		name    string
		kind    storage.BlockKind
		subject string
		service string
		want    string
	}{
		{"service block on its service", storage.BlockPlayer, "p1", "chat", "k1"},
		{"service block elsewhere", storage.BlockPlayer, "p1", "trade", ""},
		{"service block on unmarked route", storage.BlockPlayer, "p1", "", ""},
		{"account-wide block anywhere", storage.BlockPlayer, "p2", "", "k2"},
		{"account-wide block on a service", storage.BlockPlayer, "p2", "chat", "k2"},
		{"device block", storage.BlockDevice, "d1", "", "k3"},
		{"player ID is not a device ID", storage.BlockDevice, "p2", "", ""},
		{"unknown", storage.BlockPlayer, "nobody", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ok := v.Blocked(tt.kind, tt.subject, tt.service)
			assert.Equal(t, tt.want != "", ok)
			assert.Equal(t, tt.want, b.Key)
		})
	}

	// A block ends by itself at its end.
	c.Advance(time.Minute)
	_, ok := v.Blocked(storage.BlockPlayer, "p2", "")
	assert.False(t, ok)

	// A lifted block stops at once.
	v.BlockChanged(ctx, storage.Block{Key: "k3", Kind: storage.BlockDevice, Subject: "d1", CreatedAt: t0, LiftedAt: c.Now()})
	_, ok = v.Blocked(storage.BlockDevice, "d1", "")
	assert.False(t, ok)
}

// TestBlocksInForce counts blocks, not subjects, and only those in force
// now: one that ended by itself or was lifted is not counted.
func TestBlocksInForce(t *testing.T) {
	c := testclock.New(t0)
	f := &feed{blocks: []storage.Block{
		{Key: "synced", Kind: storage.BlockPlayer, Subject: "p0", CreatedAt: t0},
	}}
	v := newView(f, c)
	players, devices := v.BlocksInForce()
	assert.Equal(t, [2]int{0, 0}, [2]int{players, devices}, "nothing before the first sync")
	require.NoError(t, v.Sync(context.Background()))

	ctx := context.Background()
	v.BlockChanged(ctx, storage.Block{Key: "k1", Kind: storage.BlockPlayer, Subject: "p1", Services: []string{"chat"}, CreatedAt: t0})
	v.BlockChanged(ctx, storage.Block{Key: "k2", Kind: storage.BlockPlayer, Subject: "p1", CreatedAt: t0, Until: t0.Add(time.Minute)})
	v.BlockChanged(ctx, storage.Block{Key: "k3", Kind: storage.BlockDevice, Subject: "d1", CreatedAt: t0})
	players, devices = v.BlocksInForce()
	assert.Equal(t, [2]int{3, 1}, [2]int{players, devices}, "two blocks of one player count twice")

	c.Advance(time.Minute)
	v.BlockChanged(ctx, storage.Block{Key: "k3", Kind: storage.BlockDevice, Subject: "d1", CreatedAt: t0, LiftedAt: c.Now()})
	players, devices = v.BlocksInForce()
	assert.Equal(t, [2]int{2, 0}, [2]int{players, devices}, "ended and lifted blocks are not in force")
}

func TestSyncLoadsAndReconciles(t *testing.T) {
	c := testclock.New(t0)
	f := &feed{
		revs: []storage.Revocation{
			{SessionID: "old", Reason: storage.ReasonSignedOut, At: t0.Add(-2 * time.Hour)},
			{SessionID: "recent", Reason: storage.ReasonAdmin, At: t0.Add(-10 * time.Minute)},
		},
		blocks: []storage.Block{{Key: "k1", Kind: storage.BlockPlayer, Subject: "p1", CreatedAt: t0.Add(-48 * time.Hour)}},
	}
	v := newView(f, c)
	ctx := context.Background()
	require.NoError(t, v.Sync(ctx))
	assert.Equal(t, t0.Add(-time.Hour), f.since[0], "first sync reads back one Retain")

	_, ok := v.SessionRevoked("recent")
	assert.True(t, ok)
	_, ok = v.SessionRevoked("old")
	assert.False(t, ok, "revoked longer ago than Retain: its tokens are expired anyway")
	_, ok = v.Blocked(storage.BlockPlayer, "p1", "")
	assert.True(t, ok, "a block older than Retain is still loaded")

	// A block made and a session revoked on another node, heard of by no
	// broadcast, arrive with the next sync; an unblock elsewhere too.
	c.Advance(5 * time.Second)
	f.mu.Lock()
	f.revs = append(f.revs, storage.Revocation{SessionID: "elsewhere", Reason: storage.ReasonReused, At: c.Now()})
	f.blocks = []storage.Block{{Key: "k2", Kind: storage.BlockDevice, Subject: "d9", CreatedAt: c.Now()}}
	f.mu.Unlock()
	require.NoError(t, v.Sync(ctx))
	assert.True(t, f.since[1].Before(t0), "later syncs re-read an overlap, not only since the last start")
	_, ok = v.SessionRevoked("elsewhere")
	assert.True(t, ok)
	_, ok = v.Blocked(storage.BlockDevice, "d9", "")
	assert.True(t, ok)
	_, ok = v.Blocked(storage.BlockPlayer, "p1", "")
	assert.False(t, ok, "lifted elsewhere: gone after the sync")
	assert.True(t, c.Now().Equal(v.LastSync()))
}

func TestSyncKeepsBlockMadeWhileItRan(t *testing.T) {
	c := testclock.New(t0)
	f := &feed{}
	v := newView(f, c)
	ctx := context.Background()
	// The snapshot is read, then this node blocks a player before the sync
	// publishes: the stale snapshot must not erase the block.
	f.during = func() {
		v.BlockChanged(ctx, storage.Block{Key: "k1", Kind: storage.BlockPlayer, Subject: "p1", CreatedAt: c.Now()})
	}
	require.NoError(t, v.Sync(ctx))
	_, ok := v.Blocked(storage.BlockPlayer, "p1", "")
	assert.True(t, ok)
}

func TestSyncFailureKeepsView(t *testing.T) {
	c := testclock.New(t0)
	f := &feed{err: errors.New("store down")}
	v := newView(f, c)
	ctx := context.Background()
	v.BlockChanged(ctx, storage.Block{Key: "k1", Kind: storage.BlockPlayer, Subject: "p1", CreatedAt: t0})
	require.Error(t, v.Sync(ctx))
	_, ok := v.Blocked(storage.BlockPlayer, "p1", "")
	assert.True(t, ok)
	assert.True(t, v.LastSync().IsZero())
}

func TestConcurrentReadersAndWriters(t *testing.T) {
	c := testclock.New(t0)
	f := &feed{}
	v := newView(f, c)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				v.BlockChanged(ctx, storage.Block{Key: "k", Kind: storage.BlockPlayer, Subject: "p", CreatedAt: t0})
				v.SessionsRevoked(ctx, []storage.Revocation{{SessionID: "s", At: t0}})
				_ = v.Sync(ctx)
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				v.Blocked(storage.BlockPlayer, "p", "chat")
				v.SessionRevoked("s")
			}
		}()
	}
	wg.Wait()
	_, ok := v.Blocked(storage.BlockPlayer, "p", "")
	assert.True(t, ok)
}

func ExampleView() {
	view := revocation.New(&feed{}, revocation.Config{})
	ctx := context.Background()
	// The account service reports a sign-out; the middleware asks.
	view.SessionsRevoked(ctx, []storage.Revocation{{SessionID: "sid-1", Reason: storage.ReasonSignedOut, At: time.Now()}})
	reason, revoked := view.SessionRevoked("sid-1")
	fmt.Println(reason, revoked)
	// Output: signed_out true
}
