package sqlite

import (
	"context"
	"database/sql"
)

// SearchSQL is SearchNicknames' statement.
func SearchSQL(bounded bool) string { return searchSQL(bounded) }

// MaxStmts is how many statements a pool keeps at most.
const MaxStmts = maxStmts

// PoolCounts are a pool's statement counts.
type PoolCounts struct {
	Kept       int   // statements prepared and cached
	Unprepared int64 // queries run unprepared so far
}

func (p *pool) counts() PoolCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PoolCounts{Kept: p.size(), Unprepared: p.unprepared.Load()}
}

// Counts are the writer's and the readers' statement counts (the same pool
// for an in-memory database).
func Counts(s *Store) (w, r PoolCounts) { return s.w.counts(), s.r.counts() }

// ReadRow runs query on s's readers, through their statement cache.
func ReadRow(ctx context.Context, s *Store, query string, args ...any) *sql.Row {
	return s.r.QueryRowContext(ctx, query, args...)
}

// OpenConns is how many connections s's pools hold open.
func OpenConns(s *Store) int {
	n := s.w.db.Stats().OpenConnections
	if s.r != s.w {
		n += s.r.db.Stats().OpenConnections
	}
	return n
}
