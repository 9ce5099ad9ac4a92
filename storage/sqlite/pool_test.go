package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gameauth/gameauth/storage"
	"github.com/gameauth/gameauth/storage/sqlite"
)

// TestStatementsPreparedOnce: a query is prepared on its first use and
// then runs from that statement, on the readers, on the writer and in
// every later transaction; a transaction's first use runs unprepared (the
// transaction holds the writer's one connection) and the writer prepares
// the query once the transaction is over.
func TestStatementsPreparedOnce(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	w, r := sqlite.Counts(s)
	require.Equal(t, sqlite.PoolCounts{}, w, "Open prepares nothing")
	require.Equal(t, sqlite.PoolCounts{}, r)

	require.NoError(t, s.CreateAccount(ctx, account("a0", "a0@x", "")))
	w, _ = sqlite.Counts(s)
	require.Equal(t, sqlite.PoolCounts{Kept: 2, Unprepared: 2}, w,
		"the account's and its identity's INSERT ran unprepared, then were prepared")
	for i := 1; i < 6; i++ {
		id := fmt.Sprint("a", i)
		require.NoError(t, s.CreateAccount(ctx, account(id, id+"@x", "")))
	}
	got, _ := sqlite.Counts(s)
	assert.Equal(t, w, got, "later transactions reuse the statements")

	for i := range 6 {
		a, err := s.GetAccount(ctx, fmt.Sprint("a", i))
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint("a", i), a.ID)
	}
	_, r = sqlite.Counts(s)
	assert.Equal(t, sqlite.PoolCounts{Kept: 1}, r, "one read, prepared once")

	for i := range 3 {
		require.NoError(t, s.AddKey(ctx, storage.Key{ID: fmt.Sprint("k", i), Use: "sig", Algorithm: "EdDSA", CreatedAt: t0}))
	}
	got, _ = sqlite.Counts(s)
	assert.Equal(t, sqlite.PoolCounts{Kept: w.Kept + 1, Unprepared: w.Unprepared}, got,
		"a write outside a transaction is prepared on its first use")
}

// TestStatementsConcurrentFirstUse: callers racing on a query's first use
// all succeed and leave one statement.
func TestStatementsConcurrentFirstUse(t *testing.T) {
	s := newStore(t)
	createConcurrently(t, s, 16)
	w, r := sqlite.Counts(s)
	assert.Equal(t, 2, w.Kept)
	assert.Equal(t, 1, r.Kept)
}

// TestStatementsAndCancellation: a done context on a query's first use
// fails it as before and prepares nothing; the next call, with a live
// context, prepares and succeeds; a statement outlives the context it was
// prepared under; and a done context fails a prepared query with the same
// error as an unprepared one.
func TestStatementsAndCancellation(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	done, cancel := context.WithCancel(ctx)
	cancel()

	_, unprepared := s.GetAccount(done, "a1")
	require.ErrorIs(t, unprepared, context.Canceled)
	require.ErrorIs(t, s.CreateAccount(done, account("a1", "a@x", "")), context.Canceled)
	w, r := sqlite.Counts(s)
	require.Zero(t, w.Kept, "nothing prepared under a done context")
	require.Zero(t, r.Kept)

	live, stop := context.WithCancel(ctx)
	require.NoError(t, s.CreateAccount(live, account("a1", "a@x", "")))
	_, err := s.GetAccount(live, "a1")
	require.NoError(t, err)
	stop()
	_, err = s.GetAccount(ctx, "a1")
	require.NoError(t, err, "the statement outlives the context it was prepared under")
	require.NoError(t, s.CreateAccount(ctx, account("a2", "b@x", "")))
	w, r = sqlite.Counts(s)
	require.Equal(t, 2, w.Kept)
	require.Equal(t, 1, r.Kept)

	_, prepared := s.GetAccount(done, "a1")
	assert.Equal(t, unprepared.Error(), prepared.Error())
	err = s.CreateAccount(done, account("a3", "c@x", ""))
	require.ErrorIs(t, err, context.Canceled)

	// A deadline that passes during a transaction fails it as it did.
	short, stop := context.WithTimeout(ctx, time.Millisecond)
	defer stop()
	<-short.Done()
	require.ErrorIs(t, s.CreateAccount(short, account("a3", "c@x", "")), context.DeadlineExceeded)
	_, err = s.GetAccount(ctx, "a3")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

// TestStatementsBounded: past MaxStmts distinct queries a pool prepares no
// more, and the further queries still run, unprepared.
func TestStatementsBounded(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for i := range sqlite.MaxStmts + 10 {
		var got int
		require.NoError(t, sqlite.ReadRow(ctx, s, fmt.Sprintf("SELECT %d", i)).Scan(&got))
		require.Equal(t, i, got)
	}
	_, r := sqlite.Counts(s)
	assert.Equal(t, sqlite.PoolCounts{Kept: sqlite.MaxStmts, Unprepared: 10}, r)
	_, err := s.GetAccount(ctx, "a1")
	require.ErrorIs(t, err, storage.ErrNotFound)
}

// TestCloseClosesStatements: Close closes every statement and connection
// (SQLite then removes the WAL file, which it keeps while any connection
// is open), and the store afterwards fails as a closed database does,
// preparing nothing.
func TestCloseClosesStatements(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "auth.db")
	s, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	require.NoError(t, s.CreateAccount(ctx, account("a1", "a@x", "")))
	_, err = s.CreateSession(ctx, storage.Session{
		ID: "s1", AccountID: "a1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), RefreshHash: []byte("h0"), RotatedAt: t0,
	}, 1)
	require.NoError(t, err)
	_, err = s.Refresh(ctx, "s1", storage.Rotation{Presented: []byte("h0"), Next: []byte("h1"), Now: t0.Add(time.Second)})
	require.NoError(t, err)
	w, r := sqlite.Counts(s)
	require.NotZero(t, w.Kept)
	require.NotZero(t, r.Kept)

	require.NoError(t, s.Close())
	w, r = sqlite.Counts(s)
	assert.Zero(t, w.Kept)
	assert.Zero(t, r.Kept)
	assert.Zero(t, sqlite.OpenConns(s))
	_, err = os.Stat(path + "-wal")
	assert.ErrorIs(t, err, os.ErrNotExist, "every connection to the file is closed")

	_, err = s.GetAccount(ctx, "a1")
	require.ErrorContains(t, err, "sql: database is closed")
	require.ErrorContains(t, s.CreateAccount(ctx, account("a2", "b@x", "")), "sql: database is closed")
	w, r = sqlite.Counts(s)
	assert.Zero(t, w.Kept)
	assert.Zero(t, r.Kept)
}
