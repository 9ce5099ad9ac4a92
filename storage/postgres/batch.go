package postgres

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gameauth/gameauth/storage"
)

// Refreshes arriving together are rotated together: concurrent Refresh
// calls queue, and whichever call finds no statement running runs the queue
// as one statement, rotateManySQL, and one commit, instead of a round trip
// and a WAL flush each; the calls arriving meanwhile queue for the next
// one. A call alone runs at once, as it would without batching: nothing
// ever waits for company, and the busier the store, the more each statement
// carries. One statement runs at a time, and it never names a session
// twice (a second refresh of a session waits for the next statement), so
// this store's refreshes never race each other on a row; another process's
// can, and the conditional UPDATE decides those races as rotateSQL does.
//
// Measured on two cores with PostgreSQL on the same machine (16 callers):
// several statements in flight at once made each commit wait on the
// others' WAL flushes, and were slower than one; see BENCHMARKS.md.
//
// A call whose session the statement did not rotate (a retry, a reuse, a
// stopped, revoked, expired or missing session) is judged on its own, as
// Refresh always does; so is every call of a statement that failed (a lost
// connection, a deadlock with another process's statement), with its own
// context.

// DefaultRefreshBatch is the most refreshes Open and New put in one
// statement unless RefreshBatch says otherwise.
const DefaultRefreshBatch = 64

// RefreshBatch sets the most refreshes the store rotates in one statement
// (see Store.Refresh); 1 turns batching off, so that every Refresh is its
// own statement and commit.
func RefreshBatch(n int) Option {
	return func(o *options) { o.batch = max(n, 1) }
}

// rotateManySQL is rotateSQL for several sessions at once: $1..$4 are
// arrays (session IDs, presented hashes, next hashes, times), one element
// per refresh, and each result row starts with the 1-based position of the
// refresh it rotated. The sessions are distinct, and sorted by ID so that
// statements lock rows in one order.
//
//	$1 session IDs, $2 presented hashes, $3 next hashes (NULL if empty),
//	$4 nows, $5 BlockPlayer, $6 BlockDevice
var rotateManySQL = `UPDATE gameauth_sessions s
SET prev_refresh_hash = s.refresh_hash, refresh_hash = r.next, generation = s.generation + 1, rotated_at = r.now
FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::timestamptz[]) WITH ORDINALITY AS r(id, presented, next, now, n),
	gameauth_accounts a
WHERE s.id = r.id AND s.refresh_hash = r.presented AND s.revoked_at IS NULL AND s.expires_at > r.now
	AND a.id = s.account_id
	AND NOT EXISTS (SELECT 1 FROM gameauth_withdrawals w
		WHERE w.account_id = s.account_id AND w.purged_at IS NULL OFFSET 0)
	AND NOT EXISTS (SELECT 1 FROM gameauth_blocks b
		WHERE b.kind = $5 AND b.subject = s.account_id AND cardinality(b.services) = 0
			AND (b.lifted_at IS NULL OR b.lifted_at > r.now) AND (b.until_at IS NULL OR b.until_at > r.now) OFFSET 0)
	AND (s.device_id = '' OR NOT EXISTS (SELECT 1 FROM gameauth_blocks b
		WHERE b.kind = $6 AND b.subject = s.device_id AND cardinality(b.services) = 0
			AND (b.lifted_at IS NULL OR b.lifted_at > r.now) AND (b.until_at IS NULL OR b.until_at > r.now) OFFSET 0))
RETURNING r.n, ` + prefixed("s.", sessionCols) + `, ` + prefixed("a.", accountCols)

// batcher is the queue of a store's refreshes.
type batcher struct {
	max     int
	mu      sync.Mutex
	queue   []*refreshCall
	running bool // a call is running the queue
}

// refreshCall is one Refresh waiting on its lane.
type refreshCall struct {
	ctx context.Context
	id  string
	r   storage.Rotation

	done    chan struct{} // closed when the fields below are set
	st      storage.RefreshState
	rotated bool  // st is the rotated session: the refresh is done
	err     error // the caller's own statement failed, or ctx ended first
}

// rotate rotates id as rotateSQL does, in one statement with whichever
// other refreshes are queued. It reports whether it rotated;
// when it did not, or a statement of several failed, the caller judges the
// refresh alone. err is the failure of a statement of one, or ctx's.
func (s *Store) rotate(ctx context.Context, id string, r storage.Rotation) (storage.RefreshState, bool, error) {
	b := s.batch
	c := &refreshCall{ctx: ctx, id: id, r: r, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	lead := !b.running
	b.running = true
	b.mu.Unlock()
	if lead {
		b.run(s, c)
	}
	select {
	case <-c.done:
		return c.st, c.rotated, c.err
	case <-ctx.Done():
		// The statement may yet rotate it; a retry would find that.
		return storage.RefreshState{}, false, ctx.Err()
	}
}

// run runs the queue, a statement at a time, until own (if any) is done;
// then it leaves what is left to a new goroutine, so that a caller never
// waits on statements it is not in.
func (b *batcher) run(s *Store, own *refreshCall) {
	for {
		b.mu.Lock()
		batch := b.take()
		if len(batch) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		s.rotateMany(batch)
		if own == nil {
			continue
		}
		select {
		case <-own.done:
			b.mu.Lock()
			more := len(b.queue) > 0
			if !more {
				b.running = false
			}
			b.mu.Unlock()
			if more {
				go b.run(s, nil)
			}
			return
		default:
		}
	}
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
// every call of it.
func (s *Store) rotateMany(batch []*refreshCall) {
	defer func() {
		for _, c := range batch {
			close(c.done)
		}
	}()
	if len(batch) == 1 {
		c := batch[0]
		if c.err = s.hook(c.ctx, 1); c.err == nil {
			c.st, c.rotated, c.err = s.rotateOne(c.ctx, c.id, c.r)
		}
		return
	}
	slices.SortFunc(batch, func(a, b *refreshCall) int { return strings.Compare(a.id, b.id) })
	ctx, cancel := batchContext(batch)
	defer cancel()
	ids := make([]string, len(batch))
	presented := make([][]byte, len(batch))
	next := make([][]byte, len(batch))
	nows := make([]time.Time, len(batch))
	for i, c := range batch {
		ids[i], presented[i], nows[i] = c.id, c.r.Presented, c.r.Now
		if len(c.r.Next) > 0 {
			next[i] = c.r.Next
		}
	}
	var rows pgx.Rows
	err := s.hook(ctx, len(batch))
	if err == nil {
		rows, err = s.pool.Query(ctx, s.rotateManySQL, ids, presented, next, nows,
			string(storage.BlockPlayer), string(storage.BlockDevice))
	}
	if err == nil {
		var n int
		var st storage.RefreshState
		var reason string
		dest := append([]any{&n}, sessionDest(&st.Session, &reason)...)
		dest = append(dest, accountDest(&st.Account)...)
		for rows.Next() {
			if err = rows.Scan(dest...); err != nil {
				break
			}
			if n < 1 || n > len(batch) {
				continue
			}
			st.Session.RevokeReason = storage.RevokeReason(reason)
			c := batch[n-1]
			c.st, c.rotated = st, true
			st = storage.RefreshState{}
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if err != nil {
		// No rotation is known to have committed: each caller judges
		// its refresh alone, with its own context, and finds any that did.
		for _, c := range batch {
			c.st, c.rotated = storage.RefreshState{}, false
		}
	}
}

// hook runs the test hook, if any, before a statement of n refreshes.
func (s *Store) hook(ctx context.Context, n int) error {
	if s.onBatch == nil {
		return nil
	}
	return s.onBatch(ctx, n)
}

// batchContext is the context a statement for batch runs in: its callers'
// values, and cancelled only once every caller has stopped waiting, so that
// one caller giving up does not fail the others.
func batchContext(batch []*refreshCall) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(batch[0].ctx))
	waiting := atomic.Int64{}
	waiting.Store(int64(len(batch)))
	stops := make([]func() bool, len(batch))
	for i, c := range batch {
		stops[i] = context.AfterFunc(c.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}
