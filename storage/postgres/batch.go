package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gameauth/gameauth/storage"
)

// Refreshes arriving together are rotated together: concurrent Refresh
// calls queue, and a runner goroutine, started by whichever call finds none
// running, runs the queue as one statement, rotateManySQL, and one commit,
// instead of a round trip and a WAL flush each; the calls arriving
// meanwhile queue for the next one. A call alone runs at once: nothing ever
// waits for company, and the busier the store, the more each statement
// carries. Every caller waits for its answer or for its context, whichever
// comes first.
//
// One statement runs at a time. It never names a session twice (a second
// refresh of a session waits for the next statement), and it never waits
// for a row lock: it locks the sessions it can, in ID order, skipping any
// that another transaction holds, so one busy row (a revoke-all, another
// node's rotation) delays only its own refresh, and the statement cannot
// deadlock. Measured on two cores with PostgreSQL on the same machine (16
// callers): several statements in flight at once made each commit wait on
// the others' WAL flushes, and were slower than one; see BENCHMARKS.md.
//
// A call whose session the statement did not rotate (a retry, a reuse, a
// held, revoked, expired or missing session, a locked row) is judged on
// its own, as Refresh always does; so is every call of a statement that
// failed, with its own context — and a statement fails, cancelled, as soon
// as one of its callers gives up (see batchContext). A failed statement may
// have committed before the failure reached us (a lost connection): the
// judgement then finds the rotation, as a client's retry would.

// DefaultRefreshBatch is the most refreshes Open and New put in one
// statement unless RefreshBatch says otherwise.
const DefaultRefreshBatch = 64

// RefreshBatch sets the most refreshes the store rotates in one statement
// (see Store.Refresh); 1 turns batching off, so that every Refresh is its
// own statement and commit. Zero or less means DefaultRefreshBatch.
func RefreshBatch(n int) Option {
	return func(o *options) { o.batch = n }
}

// rotateManySQL is rotateSQL for several sessions at once: $1..$5 are
// arrays (session IDs, presented hashes, next hashes, times, the times a
// rotation is stamped with before any wait in PostgreSQL), one element per
// refresh, and each result row starts with the 1-based position of the
// refresh it rotated. The sessions are distinct. CTE l locks, in ID order,
// the sessions whose presented hash is current, skipping rows another
// transaction has locked; the UPDATE touches only those, and repeats the
// compare-and-swap, so under READ COMMITTED a commit to a row between the
// snapshot and the lock is judged again on the row as it now is.
//
//	$1 session IDs, $2 presented hashes, $3 next hashes (NULL if empty),
//	$4 nows, $5 stamps, $6 BlockPlayer, $7 BlockDevice
var rotateManySQL = `WITH r AS (
	SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::timestamptz[], $5::timestamptz[])
		WITH ORDINALITY AS r(id, presented, next, now, stamp, n)
), l AS (
	SELECT r.* FROM gameauth_sessions s JOIN r ON s.id = r.id
	WHERE s.refresh_hash = r.presented AND s.revoked_at IS NULL AND s.expires_at > r.now
	ORDER BY s.id
	FOR UPDATE OF s SKIP LOCKED
)
UPDATE gameauth_sessions s
SET prev_refresh_hash = s.refresh_hash, refresh_hash = l.next, generation = s.generation + 1, rotated_at = ` + stampSQL("l.stamp") + `
FROM l, gameauth_accounts a
WHERE s.id = l.id AND s.refresh_hash = l.presented AND s.revoked_at IS NULL AND s.expires_at > l.now
	AND a.id = s.account_id
	AND NOT ` + heldSQL("s", "l.now", "$6", "$7") + `
RETURNING l.n, ` + prefixed("s.", sessionCols) + `, ` + prefixed("a.", accountCols)

// batcher is the queue of a store's refreshes.
type batcher struct {
	max     int
	mu      sync.Mutex
	queue   []*refreshCall
	running bool // a runner goroutine is running the queue

	fallbacks atomic.Int64 // calls of failed statements, judged alone
}

// refreshCall is one Refresh waiting on the queue.
type refreshCall struct {
	ctx    context.Context
	id     string
	r      storage.Rotation // its hashes the call's own copies
	queued time.Time        // when it joined the queue

	done    chan struct{} // closed when the fields below are set
	st      storage.RefreshState
	rotated bool  // st is the rotated session: the refresh is done
	failed  bool  // its statement failed: judge it alone
	err     error // ctx ended before a statement took the call
}

// rotate rotates id as rotateSQL does, in one statement with whichever
// other refreshes are queued. It reports whether it rotated, and whether
// the statement failed; when it did not rotate, the caller judges the
// refresh alone. err is ctx's, when it ended first.
func (s *Store) rotate(ctx context.Context, id string, r storage.Rotation) (st storage.RefreshState, rotated, failed bool, err error) {
	b := s.batch
	// The statement may outlive the call (see batchContext): it must not
	// read the caller's slices after the call returns.
	r.Presented, r.Next = slices.Clone(r.Presented), slices.Clone(r.Next)
	c := &refreshCall{ctx: ctx, id: id, r: r, queued: time.Now(), done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	start := !b.running
	b.running = true
	b.mu.Unlock()
	if start {
		go b.run(s)
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		select {
		case <-c.done: // done as well: the answer is known
		default:
			// The statement may yet rotate it; a retry would find that.
			return storage.RefreshState{}, false, false, ctx.Err()
		}
	}
	return c.st, c.rotated, c.failed, c.err
}

// run runs the queue, a statement at a time, until it is empty. Should a
// statement panic, the next runner takes over the queue before the panic
// goes on.
func (b *batcher) run(s *Store) {
	defer b.stop(s)
	for {
		b.mu.Lock()
		batch := b.take()
		b.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		s.rotateMany(batch)
	}
}

// stop ends a runner: the queue, if not empty, goes to a new one.
func (b *batcher) stop(s *Store) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) > 0 {
		go b.run(s)
		return
	}
	b.running = false
}

// take removes from the queue, in order, up to max calls for distinct
// sessions whose callers still wait; the calls it skips as duplicates stay
// queued for the next statement. b.mu is held.
func (b *batcher) take() []*refreshCall {
	var batch []*refreshCall
	rest := b.queue[:0]
	for _, c := range b.queue {
		switch {
		case c.ctx.Err() != nil:
			c.err = c.ctx.Err()
			close(c.done)
		case len(batch) < b.max && !slices.ContainsFunc(batch, func(o *refreshCall) bool { return o.id == c.id }):
			batch = append(batch, c)
		default:
			rest = append(rest, c)
		}
	}
	clear(b.queue[len(rest):])
	b.queue = rest
	return batch
}

// rotateMany rotates the sessions of batch in one statement and finishes
// every call of it. A panic fails the statement like an error (each call is
// then judged alone, on its caller's goroutine), so that the queue, which
// no request's goroutine runs, goes on.
func (s *Store) rotateMany(batch []*refreshCall) {
	ok := false // every row read: the rotations are known
	defer func() {
		if recover() != nil || !ok {
			for _, c := range batch {
				c.st, c.rotated, c.failed = storage.RefreshState{}, false, true
			}
			s.batch.fallbacks.Add(int64(len(batch)))
		}
		for _, c := range batch {
			close(c.done)
		}
	}()
	slices.SortFunc(batch, func(a, b *refreshCall) int { return strings.Compare(a.id, b.id) })
	ctx, cancel := batchContext(batch)
	defer cancel()
	ids := make([]string, len(batch))
	presented := make([][]byte, len(batch))
	next := make([][]byte, len(batch))
	nows := make([]time.Time, len(batch))
	stamps := make([]time.Time, len(batch))
	for i, c := range batch {
		ids[i], presented[i], nows[i], stamps[i] = c.id, c.r.Presented, c.r.Now, c.r.Now
		if wait := time.Since(c.queued); wait > lateAfter {
			stamps[i] = c.r.Now.Add(wait) // see lateAfter
		}
		if len(c.r.Next) > 0 {
			next[i] = c.r.Next
		}
	}
	if s.hook(ctx, len(batch)) != nil {
		return
	}
	rows, err := s.pool.Query(ctx, s.rotateManySQL, ids, presented, next, nows, stamps,
		string(storage.BlockPlayer), string(storage.BlockDevice))
	if err != nil || s.scanRotated(rows, batch) != nil {
		// The statement failed: its rows, if any came, were not
		// committed, or may not have been.
		return
	}
	ok = true
}

// scanRotated reads rotateManySQL's rows into the calls of batch they
// rotated.
func (s *Store) scanRotated(rows pgx.Rows, batch []*refreshCall) error {
	defer rows.Close()
	var n int
	var st storage.RefreshState
	var reason string
	dest := append([]any{&n}, sessionDest(&st.Session, &reason)...)
	dest = append(dest, accountDest(&st.Account)...)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if n < 1 || n > len(batch) {
			return fmt.Errorf("refresh position %d out of %d", n, len(batch))
		}
		st.Session.RevokeReason = storage.RevokeReason(reason)
		c := batch[n-1]
		c.st, c.rotated = st, true
		st = storage.RefreshState{}
	}
	return rows.Err()
}

// hook runs the test hook, if any, before a statement of n refreshes.
func (s *Store) hook(ctx context.Context, n int) error {
	if s.onBatch == nil {
		return nil
	}
	return s.onBatch(ctx, n)
}

// batchContext is the context a statement for batch runs in: the values
// of its first call's context (by session ID), cancelled as soon as any of
// its callers stops waiting. A caller that gave up must not have its
// rotation committed later: its client never saw the successor, and its
// retry, judged against a rotation stamped with the first request's time,
// could fall outside the grace window and revoke the session (a stall of
// the sessions table did exactly that). The callers still waiting lose
// nothing: a failed statement sends each of them to be judged alone, on
// its own context.
func batchContext(batch []*refreshCall) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(batch[0].ctx))
	stops := make([]func() bool, len(batch))
	for i, c := range batch {
		stops[i] = context.AfterFunc(c.ctx, cancel)
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}
