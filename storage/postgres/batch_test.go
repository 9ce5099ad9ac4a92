package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/postgres"
	"github.com/gameauth/gameauth/storage/storagetest"
)

// TestStoreUnbatched runs the suite with batching off: every refresh its
// own statement, the path a store takes with RefreshBatch(1) and, batched,
// whenever a refresh comes alone.
func TestStoreUnbatched(t *testing.T) {
	pool := testPool(t, 8)
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := postgres.New(context.Background(), pool, postgres.Schema(freshSchema(t, pool)), postgres.RefreshBatch(1))
		require.NoError(t, err)
		return s
	})
}

// gate holds the batch queue's first statement until opened, recording
// the size of every statement.
type gate struct {
	mu    sync.Mutex
	sizes []int
	open  chan struct{}
	fail  func(ctx context.Context, n int) error // fails a statement of n refreshes; nil: none
}

func newGate(s *postgres.Store) *gate {
	g := &gate{open: make(chan struct{})}
	postgres.SetOnBatch(s, func(ctx context.Context, n int) error {
		g.mu.Lock()
		g.sizes = append(g.sizes, n)
		first := len(g.sizes) == 1
		g.mu.Unlock()
		if first {
			select {
			case <-g.open:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if g.fail != nil {
			return g.fail(ctx, n)
		}
		return nil
	})
	return g
}

func (g *gate) statements() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.sizes)
}

// batchFixture is a store with n accounts, each with one session sN whose
// refresh hash is "h0-sN".
func batchFixture(t *testing.T, n int) *postgres.Store {
	t.Helper()
	s, _ := batchFixtureIn(t, n)
	return s
}

// batchFixtureIn is batchFixture, and the store's schema.
func batchFixtureIn(t *testing.T, n int) (*postgres.Store, string) {
	t.Helper()
	pool := testPool(t, 8)
	schema := freshSchema(t, pool)
	s, err := postgres.New(context.Background(), pool, postgres.Schema(schema))
	require.NoError(t, err)
	ctx := context.Background()
	for i := range n {
		id := fmt.Sprint(i)
		require.NoError(t, s.CreateAccount(ctx, account("a"+id, id+"@x", "")))
		_, err := s.CreateSession(ctx, session("s"+id, "a"+id), 0)
		require.NoError(t, err)
	}
	return s, schema
}

// rot is the first rotation of session id, at t0 plus a second.
func rot(id string) storage.Rotation {
	return storage.Rotation{
		Presented: []byte("h0-" + id), Next: []byte("h1-" + id),
		Now: t0.Add(time.Second), Grace: time.Minute,
	}
}

// waitQueued waits until n refreshes wait on s's queue.
func waitQueued(t *testing.T, s *postgres.Store, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return postgres.Queued(s) == n }, 10*time.Second, time.Millisecond,
		"%d refreshes should be queued", n)
}

// refreshAll refreshes sessions s0..s(n-1) at once, the first alone (held
// by g) and the others queued behind it, and returns their answers.
func refreshAll(t *testing.T, s *postgres.Store, g *gate, n int) ([]storage.RefreshState, []error) {
	t.Helper()
	got := make([]storage.RefreshState, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	call := func(i int) {
		wg.Go(func() { got[i], errs[i] = s.Refresh(context.Background(), fmt.Sprint("s", i), rot(fmt.Sprint("s", i))) })
	}
	call(0)
	require.Eventually(t, func() bool { return len(g.statements()) == 1 }, 10*time.Second, time.Millisecond)
	for i := 1; i < n; i++ {
		call(i)
	}
	waitQueued(t, s, n-1)
	close(g.open)
	wg.Wait()
	return got, errs
}

// requireRotatedOnce checks that session id was rotated exactly once, as
// rot(id) asks.
func requireRotatedOnce(t *testing.T, s *postgres.Store, id string) {
	t.Helper()
	got, err := s.GetSession(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, int64(1), got.Generation, id)
	assert.Equal(t, []byte("h1-"+id), got.RefreshHash, id)
	assert.False(t, got.Revoked(), id)
}

// TestRefreshBatch: refreshes arriving while a statement runs go together
// in the next one, and each gets its own session and account.
func TestRefreshBatch(t *testing.T) {
	const n = 12
	s := batchFixture(t, n)
	g := newGate(s)
	got, errs := refreshAll(t, s, g, n)
	assert.Equal(t, []int{1, n - 1}, g.statements(), "the first alone, then the rest in one statement")
	assert.Zero(t, postgres.Fallbacks(s), "the statement of several rotated them all")
	for i := range n {
		id := fmt.Sprint("s", i)
		require.NoError(t, errs[i], id)
		assert.Equal(t, id, got[i].Session.ID)
		assert.Equal(t, "a"+fmt.Sprint(i), got[i].Account.ID)
		assert.Equal(t, int64(1), got[i].Session.Generation, id)
		assert.Equal(t, []byte("h1-"+id), got[i].Session.RefreshHash, id)
		requireRotatedOnce(t, s, id)
	}
}

// TestRefreshBatchMax: a statement carries at most RefreshBatch refreshes.
func TestRefreshBatchMax(t *testing.T) {
	const n = 8
	pool := testPool(t, 8)
	s, err := postgres.New(context.Background(), pool, postgres.Schema(freshSchema(t, pool)), postgres.RefreshBatch(3))
	require.NoError(t, err)
	ctx := context.Background()
	for i := range n {
		id := fmt.Sprint(i)
		require.NoError(t, s.CreateAccount(ctx, account("a"+id, id+"@x", "")))
		_, err := s.CreateSession(ctx, session("s"+id, "a"+id), 0)
		require.NoError(t, err)
	}
	g := newGate(s)
	_, errs := refreshAll(t, s, g, n)
	assert.Equal(t, []int{1, 3, 3, 1}, g.statements())
	for i := range n {
		require.NoError(t, errs[i])
		requireRotatedOnce(t, s, fmt.Sprint("s", i))
	}
}

// TestRefreshBatchFails: when a statement of several fails, each refresh in
// it is done alone, and none is lost or done twice.
func TestRefreshBatchFails(t *testing.T) {
	const n = 6
	s := batchFixture(t, n)
	g := newGate(s)
	g.fail = func(_ context.Context, n int) error {
		if n > 1 {
			return errors.New("connection lost")
		}
		return nil
	}
	_, errs := refreshAll(t, s, g, n)
	assert.Equal(t, []int{1, n - 1}, g.statements())
	assert.EqualValues(t, n-1, postgres.Fallbacks(s), "each call of the failed statement was judged alone")
	for i := range n {
		require.NoError(t, errs[i])
		requireRotatedOnce(t, s, fmt.Sprint("s", i))
	}
}

// TestRefreshBatchSameSession: refreshes of one session never share a
// statement; a retry queued with the first try gets the same rotation.
func TestRefreshBatchSameSession(t *testing.T) {
	s := batchFixture(t, 3)
	g := newGate(s)
	ctx := context.Background()
	var wg sync.WaitGroup
	var first storage.RefreshState
	wg.Go(func() {
		var err error
		first, err = s.Refresh(ctx, "s0", rot("s0"))
		assert.NoError(t, err)
	})
	require.Eventually(t, func() bool { return len(g.statements()) == 1 }, 10*time.Second, time.Millisecond)
	got := make([]storage.RefreshState, 4)
	for i := range got {
		wg.Go(func() {
			id := []string{"s1", "s1", "s2", "s1"}[i]
			var err error
			got[i], err = s.Refresh(ctx, id, rot(id))
			assert.NoError(t, err, "caller %d", i)
		})
	}
	waitQueued(t, s, 4)
	close(g.open)
	wg.Wait()
	assert.Equal(t, []int{1, 2, 1, 1}, g.statements(), "s1 and s2, then s1's retries one by one")
	for i, st := range got {
		assert.Equal(t, int64(1), st.Session.Generation, "caller %d", i)
	}
	assert.Equal(t, int64(1), first.Session.Generation)
	for _, id := range []string{"s0", "s1", "s2"} {
		requireRotatedOnce(t, s, id)
	}
}

// TestRefreshBatchCallerGivesUp: a caller whose context ends while it
// waits for a statement returns at once with the context's error, and its
// refresh is not done; the others' are.
func TestRefreshBatchCallerGivesUp(t *testing.T) {
	s := batchFixture(t, 3)
	g := newGate(s)
	bg := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() {
		_, err := s.Refresh(bg, "s0", rot("s0"))
		assert.NoError(t, err)
	})
	require.Eventually(t, func() bool { return len(g.statements()) == 1 }, 10*time.Second, time.Millisecond)
	ctx, cancel := context.WithCancel(bg)
	quit := make(chan error, 1)
	go func() {
		_, err := s.Refresh(ctx, "s1", rot("s1"))
		quit <- err
	}()
	wg.Go(func() {
		_, err := s.Refresh(bg, "s2", rot("s2"))
		assert.NoError(t, err)
	})
	waitQueued(t, s, 2)
	cancel()
	select {
	case err := <-quit:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("the caller that gave up is still waiting")
	}
	close(g.open)
	wg.Wait()
	assert.Equal(t, []int{1, 1}, g.statements(), "s1 left the queue")
	requireRotatedOnce(t, s, "s0")
	requireRotatedOnce(t, s, "s2")
	got, err := s.GetSession(bg, "s1")
	require.NoError(t, err)
	assert.Equal(t, int64(0), got.Generation, "s1 was not rotated")
}

// TestRefreshBatchOneLeavesStatement: a caller giving up on a statement it
// is in cancels the statement, so that its rotation is not committed later
// behind its back; the others are judged alone and rotate, and the one who
// gave up finds its token still current when it comes back.
func TestRefreshBatchOneLeavesStatement(t *testing.T) {
	s := batchFixture(t, 3)
	g := newGate(s)
	inStatement := make(chan struct{})
	g.fail = func(ctx context.Context, n int) error {
		if n > 1 {
			// The statement runs until its context ends, as one waiting
			// on a lock would.
			close(inStatement)
			<-ctx.Done()
		}
		return nil
	}
	bg := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() {
		_, err := s.Refresh(bg, "s0", rot("s0"))
		assert.NoError(t, err)
	})
	require.Eventually(t, func() bool { return len(g.statements()) == 1 }, 10*time.Second, time.Millisecond)
	ctx, cancel := context.WithCancel(bg)
	quit := make(chan error, 1)
	go func() {
		_, err := s.Refresh(ctx, "s1", rot("s1"))
		quit <- err
	}()
	var other storage.RefreshState
	wg.Go(func() {
		var err error
		other, err = s.Refresh(bg, "s2", rot("s2"))
		assert.NoError(t, err)
	})
	waitQueued(t, s, 2)
	close(g.open)
	<-inStatement
	cancel()
	require.ErrorIs(t, <-quit, context.Canceled)
	wg.Wait()
	assert.Equal(t, int64(1), other.Session.Generation, "s2 was judged alone and rotated")
	requireRotatedOnce(t, s, "s2")
	assert.Equal(t, int64(2), postgres.Fallbacks(s), "the cancelled statement's two calls went to be judged alone")
	got, err := s.GetSession(bg, "s1")
	require.NoError(t, err)
	assert.Equal(t, int64(0), got.Generation, "s1's rotation was not done behind its caller's back")
	st, err := s.Refresh(bg, "s1", rot("s1"))
	require.NoError(t, err)
	assert.Equal(t, []byte("h1-s1"), st.Session.RefreshHash, "its retry rotates")
	requireRotatedOnce(t, s, "s1")
}

// TestRefreshBatchSkipsLockedRow: a session row another transaction holds
// delays only its own refresh; the others go on.
func TestRefreshBatchSkipsLockedRow(t *testing.T) {
	s, schema := batchFixtureIn(t, 2)
	ctx := context.Background()
	other := testPool(t, 2)
	tx, err := other.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `SELECT 1 FROM `+pgx.Identifier{schema, "gameauth_sessions"}.Sanitize()+` WHERE id = 's0' FOR UPDATE`)
	require.NoError(t, err)

	held := make(chan error, 1)
	go func() {
		_, err := s.Refresh(ctx, "s0", rot("s0"))
		held <- err
	}()
	holder := tx.Conn().PgConn().PID()
	require.Eventually(t, func() bool {
		// Waits on this transaction only: other tests share the database.
		var n int
		err := other.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, holder).Scan(&n)
		return err == nil && n == 1
	}, 10*time.Second, time.Millisecond, "s0's refresh waits for the row")

	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	got, err := s.Refresh(tctx, "s1", rot("s1"))
	require.NoError(t, err, "s1 does not wait behind s0's row")
	assert.Equal(t, int64(1), got.Session.Generation)
	select {
	case err := <-held:
		t.Fatalf("s0's refresh returned (%v) while its row was held", err)
	default:
	}
	require.NoError(t, tx.Rollback(ctx))
	require.NoError(t, <-held, "s0's refresh goes on once the row is free")
	requireRotatedOnce(t, s, "s0")
	requireRotatedOnce(t, s, "s1")
}

// TestRefreshBatchPanic: a statement that panics fails like one that errs,
// and the queue goes on.
func TestRefreshBatchPanic(t *testing.T) {
	const n = 4
	s := batchFixture(t, n+1)
	g := newGate(s)
	g.fail = func(_ context.Context, n int) error {
		if n > 1 {
			panic("boom")
		}
		return nil
	}
	_, errs := refreshAll(t, s, g, n)
	for i := range n {
		require.NoError(t, errs[i])
		requireRotatedOnce(t, s, fmt.Sprint("s", i))
	}
	assert.EqualValues(t, n-1, postgres.Fallbacks(s))
	_, err := s.Refresh(context.Background(), fmt.Sprint("s", n), rot(fmt.Sprint("s", n)))
	require.NoError(t, err, "the queue still runs")
	requireRotatedOnce(t, s, fmt.Sprint("s", n))
}

// TestRefreshBatchFailedWithoutGrace: when a failed statement did commit,
// the rotation found is the refresh's own, not a reuse, even with no grace
// window.
func TestRefreshBatchFailedWithoutGrace(t *testing.T) {
	s := batchFixture(t, 1)
	postgres.SetOnBatch(s, func(ctx context.Context, n int) error {
		// The same rotation commits (RotateRefresh does not queue), and
		// the statement fails: as when a statement's commit is lost on
		// its way back.
		_, err := s.RotateRefresh(ctx, "s0", zeroGrace(rot("s0")))
		require.NoError(t, err)
		return errors.New("connection lost")
	})
	got, err := s.Refresh(context.Background(), "s0", zeroGrace(rot("s0")))
	require.NoError(t, err)
	assert.Equal(t, []byte("h1-s0"), got.Session.RefreshHash)
	requireRotatedOnce(t, s, "s0")
}

func zeroGrace(r storage.Rotation) storage.Rotation {
	r.Grace = 0
	return r
}

// TestRefreshBatchMixed: one statement carrying refreshes of every outcome
// gives each its own answer, and rotates only the live ones.
func TestRefreshBatchMixed(t *testing.T) {
	s := batchFixture(t, 9)
	ctx := context.Background()
	// s1: retry of a rotation inside the grace window; s2: reuse of a
	// rotated-away token; s3: revoked; s4: expired; s5: player block;
	// s6: a session created after its account's withdrawal; s7: a live
	// session rotated to an empty successor; s8: live; s0: held alone by
	// the gate.
	for _, id := range []string{"s1", "s2"} {
		r := rot(id)
		r.Now = t0
		_, err := s.Refresh(ctx, id, r)
		require.NoError(t, err)
	}
	require.NoError(t, s.RevokeSession(ctx, "s3", storage.ReasonSignedOut, t0))
	require.NoError(t, s.CreateBlock(ctx, storage.Block{Key: "b5", Kind: storage.BlockPlayer, Subject: "a5", CreatedAt: t0}))
	_, err := s.Withdraw(ctx, storage.Withdrawal{AccountID: "a6", KeyHash: []byte("k6"), RequestedAt: t0, Deadline: t0.Add(time.Hour)})
	require.NoError(t, err)
	late := session("s6-late", "a6")
	late.RefreshHash = []byte("h0-s6")
	_, err = s.CreateSession(ctx, late, 0)
	require.NoError(t, err)

	rots := map[string]storage.Rotation{
		"s1": rot("s1"), "s2": rot("s2"), "s3": rot("s3"), "s5": rot("s5"),
		"s6-late": rot("s6"), "s8": rot("s8"),
	}
	rots["s2"] = storage.Rotation{Presented: []byte("h0-s2"), Next: []byte("other"), Now: t0.Add(time.Second), Grace: time.Minute}
	r4 := rot("s4")
	r4.Now = t0.Add(time.Hour)
	rots["s4"] = r4
	r7 := rot("s7")
	r7.Next = nil
	rots["s7"] = r7

	g := newGate(s)
	got := map[string]storage.RefreshState{}
	errs := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	call := func(id string, r storage.Rotation) {
		wg.Go(func() {
			st, err := s.Refresh(ctx, id, r)
			mu.Lock()
			got[id], errs[id] = st, err
			mu.Unlock()
		})
	}
	call("s0", rot("s0"))
	require.Eventually(t, func() bool { return len(g.statements()) == 1 }, 10*time.Second, time.Millisecond)
	for id, r := range rots {
		call(id, r)
	}
	waitQueued(t, s, len(rots))
	close(g.open)
	wg.Wait()
	assert.Equal(t, []int{1, len(rots)}, g.statements(), "all in one statement")
	assert.Zero(t, postgres.Fallbacks(s))

	require.NoError(t, errs["s8"])
	requireRotatedOnce(t, s, "s8")
	require.NoError(t, errs["s1"], "a retry inside the grace window")
	assert.Equal(t, []byte("h1-s1"), got["s1"].Session.RefreshHash)
	require.ErrorIs(t, errs["s2"], storage.ErrRefreshReused)
	require.ErrorIs(t, errs["s3"], storage.ErrSessionRevoked)
	require.ErrorIs(t, errs["s4"], storage.ErrRefreshExpired)
	for _, id := range []string{"s5", "s6-late"} {
		require.NoError(t, errs[id], id)
		assert.True(t, got[id].Held, id)
		st, err := s.GetSession(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, int64(0), st.Generation, "%s: nothing written", id)
	}
	require.NoError(t, errs["s7"])
	st, err := s.GetSession(ctx, "s7")
	require.NoError(t, err)
	assert.Nil(t, st.RefreshHash, "an empty successor is stored as none")
	again, err := s.Refresh(ctx, "s7", r7)
	require.NoError(t, err, "so its retry matches")
	assert.Equal(t, int64(1), again.Session.Generation)
	for id, st := range map[string]int64{"s1": 1, "s2": 1, "s3": 0, "s4": 0} {
		got, err := s.GetSession(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, st, got.Generation, id)
	}
}

// TestLateCommitKeepsTheSession is the stall of issue 13: refreshes wait on
// a locked sessions table while some of their clients give up; a rotation
// commits when the lock goes, long after its client asked. That client, which
// never saw the successor, retries its token afterwards: the retry must be
// judged from when the rotation took effect, not from when it was asked for,
// and get the successor instead of a reuse that revokes the session.
func TestLateCommitKeepsTheSession(t *testing.T) {
	const stall = 2500 * time.Millisecond
	grace := 10 * time.Second
	rotation := func(id string) storage.Rotation {
		return storage.Rotation{Presented: []byte("h0-" + id), Next: []byte("h1-" + id), Now: t0, Grace: grace}
	}
	// locked holds an ACCESS EXCLUSIVE lock on the sessions table, as an
	// operator's LOCK TABLE or a migration would, until release is called.
	locked := func(t *testing.T, pool *pgxpool.Pool, schema string) (release func()) {
		lock, err := pool.Begin(context.Background())
		require.NoError(t, err)
		// Released however the test ends, so that cleanup never waits on it.
		t.Cleanup(func() { _ = lock.Rollback(context.Background()) })
		_, err = lock.Exec(context.Background(), `LOCK TABLE `+pgx.Identifier{schema, "gameauth_sessions"}.Sanitize()+` IN ACCESS EXCLUSIVE MODE`)
		require.NoError(t, err)
		return func() { require.NoError(t, lock.Commit(context.Background())) }
	}
	retryAfterStall := func(t *testing.T, s *postgres.Store, id string) {
		t.Helper()
		retry := rotation(id)
		retry.Now = t0.Add(grace + time.Second) // past the window counted from the request
		st, err := s.Refresh(context.Background(), id, retry)
		require.NoError(t, err, "a retry of a token whose successor the client never received")
		assert.Equal(t, []byte("h1-"+id), st.Session.RefreshHash)
		assert.False(t, st.Session.Revoked())
	}

	t.Run("batched, its caller gave up", func(t *testing.T) {
		s, schema := batchFixtureIn(t, 3)
		release := locked(t, testPool(t, 2), schema)
		ctx := context.Background()
		// s2's statement waits on the lock until its caller gives up, and
		// the runner sends the next: s0 and s1, queued meanwhile, together.
		// The callers give up when the test says, not on timers, and the
		// test hook tells the size of each statement as it goes out, so
		// that a slow machine cannot send s0 and s1 apart. The hook never
		// blocks the runner: the test reads only the first two sizes.
		sent := make(chan int, 8)
		postgres.SetOnBatch(s, func(_ context.Context, n int) error {
			select {
			case sent <- n:
			default:
			}
			return nil
		})
		first, cancelFirst := context.WithCancel(ctx)
		defer cancelFirst()
		done := make(chan error, 3)
		go func() { _, err := s.Refresh(first, "s2", rotation("s2")); done <- err }()
		require.Equal(t, 1, <-sent, "s2 goes out alone")
		gaveUp, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() { _, err := s.Refresh(gaveUp, "s0", rotation("s0")); done <- err }()
		go func() { _, err := s.Refresh(ctx, "s1", rotation("s1")); done <- err }() // keeps the statement going
		waitQueued(t, s, 2)
		cancelFirst()
		require.ErrorIs(t, <-done, context.Canceled, "s2's caller gave up")
		require.Equal(t, 2, <-sent, "s0 and s1 go out in one statement")
		cancel()
		require.ErrorIs(t, <-done, context.Canceled, "s0's caller gave up in the statement it shares with s1")
		time.Sleep(stall) // the table stays locked after they gave up
		release()
		require.NoError(t, <-done)
		retryAfterStall(t, s, "s0")
	})

	t.Run("alone, its answer lost", func(t *testing.T) {
		pool := testPool(t, 4)
		schema := freshSchema(t, pool)
		s, err := postgres.New(context.Background(), pool, postgres.Schema(schema), postgres.RefreshBatch(1))
		require.NoError(t, err)
		ctx := context.Background()
		require.NoError(t, s.CreateAccount(ctx, account("a1", "1@x", "")))
		_, err = s.CreateSession(ctx, session("s1", "a1"), 0)
		require.NoError(t, err)
		// A statement a server has run before is prepared: it waits on the
		// lock when it is bound, in the transaction it runs in.
		require.NoError(t, s.CreateAccount(ctx, account("a2", "2@x", "")))
		_, err = s.CreateSession(ctx, session("s2", "a2"), 0)
		require.NoError(t, err)
		_, err = s.Refresh(ctx, "s2", rotation("s2"))
		require.NoError(t, err)
		release := locked(t, testPool(t, 2), schema)
		done := make(chan error, 1)
		go func() { _, err := s.Refresh(ctx, "s1", rotation("s1")); done <- err }()
		time.Sleep(stall)
		release()
		require.NoError(t, <-done) // the answer a client that timed out never read
		retryAfterStall(t, s, "s1")
	})
}
