package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"sync"
	"sync/atomic"
)

// maxStmts bounds the statements one pool keeps. The backend's fixed
// queries are far fewer; a query past the bound runs unprepared, so that no
// query text, however it was made, grows the cache without end.
const maxStmts = 128

// pool is a database/sql pool whose fixed queries run from statements
// prepared once, on first use, and kept until Close: SQLite parses a query
// each time it prepares one, and for a short query the parse is a large
// part of its cost. Statements are keyed by their query's text, so only
// text fixed in the source (or chosen from a fixed few) goes through
// ExecContext, QueryContext and QueryRowContext; a query built at run time
// runs on db, unprepared.
//
// A query whose statement is not at hand runs on db, unprepared: when ctx
// is done on its first use (it then fails as it would have), when its
// statement failed to prepare (not kept: the next call tries again), once
// the pool is closed, and past maxStmts. Prepared or not, a query fails
// with the same errors.
type pool struct {
	db *sql.DB
	// stmts maps a query to its statement. It is read without a lock or
	// an allocation, and replaced, under mu, by a copy with one more.
	stmts atomic.Pointer[map[string]*sql.Stmt]

	mu     sync.Mutex
	closed bool            // by close: prepare nothing more
	wanted map[string]bool // queries a transaction ran unprepared: see want

	unprepared atomic.Int64 // queries run unprepared, for tests
}

// newPool is db with an empty statement cache.
func newPool(db *sql.DB) *pool {
	p := &pool{db: db}
	p.stmts.Store(&map[string]*sql.Stmt{})
	return p
}

// cached is query's statement if it is prepared, else nil.
func (p *pool) cached(query string) *sql.Stmt { return (*p.stmts.Load())[query] }

// size is how many statements the pool holds.
func (p *pool) size() int { return len(*p.stmts.Load()) }

// stmt is query's statement, prepared on its first use, or nil when it is
// not to be prepared now (see pool). It must not be called while this
// goroutine holds one of the pool's connections (a transaction on the
// writer does): preparing waits for a free connection.
func (p *pool) stmt(ctx context.Context, query string) *sql.Stmt {
	if st := p.cached(query); st != nil {
		return st
	}
	if ctx.Err() != nil || !p.room() {
		return nil
	}
	// Prepared for every later caller, so not ended by this one's
	// cancellation; and outside the lock, as it may wait for a connection.
	st, err := p.db.PrepareContext(context.WithoutCancel(ctx), query)
	if err != nil {
		return nil
	}
	return p.keep(query, st)
}

// room reports whether the pool may prepare another statement.
func (p *pool) room() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.closed && p.size() < maxStmts
}

// keep caches st, just prepared, as query's statement and returns it; if a
// concurrent first use cached one already it closes st and returns that
// one, and if the pool was closed or filled meanwhile it closes st and
// returns nil.
func (p *pool) keep(query string, st *sql.Stmt) *sql.Stmt {
	p.mu.Lock()
	won := p.cached(query)
	if won == nil && !p.closed && p.size() < maxStmts {
		m := make(map[string]*sql.Stmt, p.size()+1)
		maps.Copy(m, *p.stmts.Load())
		m[query] = st
		p.stmts.Store(&m)
		p.mu.Unlock()
		return st
	}
	p.mu.Unlock()
	_ = st.Close() // outside the lock: it may wait for a connection in use
	return won
}

// want notes that a transaction ran query unprepared because its statement
// was not prepared yet; it cannot be prepared then, the transaction holding
// the writer's one connection. prepareWanted prepares it once the
// transaction ends.
func (p *pool) want(query string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.size()+len(p.wanted) >= maxStmts {
		return
	}
	if p.wanted == nil {
		p.wanted = make(map[string]bool)
	}
	p.wanted[query] = true
}

// prepareWanted prepares what want noted. A query it leaves unprepared (ctx
// is done, say) is noted again by the next transaction that runs it.
func (p *pool) prepareWanted(ctx context.Context) {
	p.mu.Lock()
	wanted := p.wanted
	p.wanted = nil
	p.mu.Unlock()
	for query := range wanted {
		p.stmt(ctx, query)
	}
}

// close closes the cached statements and prepares no more; the pool's
// queries then run unprepared, and fail as db, closed next, makes them.
func (p *pool) close() error {
	p.mu.Lock()
	p.closed = true
	open := *p.stmts.Load()
	p.stmts.Store(&map[string]*sql.Stmt{})
	p.wanted = nil
	p.mu.Unlock()
	var err error
	for _, st := range open {
		err = errors.Join(err, st.Close())
	}
	return err
}

// ExecContext runs query, a fixed text, from its statement.
func (p *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	p.unprepared.Add(1)
	return p.db.ExecContext(ctx, query, args...)
}

// QueryContext runs query, a fixed text, from its statement.
func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	p.unprepared.Add(1)
	return p.db.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query, a fixed text, from its statement.
func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	p.unprepared.Add(1)
	return p.db.QueryRowContext(ctx, query, args...)
}

// wtx is a write transaction (see Store.tx) whose ExecContext,
// QueryContext, QueryRowContext and PrepareContext run fixed queries from
// the writer's statements; raw runs anything else, unprepared.
type wtx struct {
	raw *sql.Tx
	w   *pool
}

// stmt is query's statement on the transaction, or nil if it is not
// prepared yet: the transaction then runs it unprepared, and the writer
// prepares it after (see pool.want).
func (t wtx) stmt(ctx context.Context, query string) *sql.Stmt {
	if st := t.w.cached(query); st != nil {
		// database/sql reuses the statement already prepared on the
		// transaction's connection, and fails as the transaction
		// would (ctx done, transaction over) when the statement runs.
		return t.raw.StmtContext(ctx, st)
	}
	t.w.unprepared.Add(1)
	t.w.want(query)
	return nil
}

// ExecContext runs query, a fixed text, from its statement.
func (t wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.raw.ExecContext(ctx, query, args...)
}

// QueryContext runs query, a fixed text, from its statement.
func (t wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.raw.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query, a fixed text, from its statement.
func (t wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.raw.QueryRowContext(ctx, query, args...)
}

// PrepareContext is query's statement on the transaction, for running it
// many times; it is closed with the transaction, or by the caller.
func (t wtx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st, nil
	}
	return t.raw.PrepareContext(ctx, query)
}
