package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// SetMidTx makes s call f inside its multi-statement transactions
// (CreateSession with keep > 0, Withdraw, UpdateAccount with a Link,
// DeleteAccount) right after their first write.
func SetMidTx(s *Store, f func(ctx context.Context, tx pgx.Tx)) { s.midTx = f }

// SetOnBatch makes s call f before each statement its batch queue runs,
// of n refreshes, with the statement's context; an error from f fails the
// statement.
func SetOnBatch(s *Store, f func(ctx context.Context, n int) error) { s.onBatch = f }

// Queued is how many refreshes wait on s's batch queue.
func Queued(s *Store) int {
	s.batch.mu.Lock()
	defer s.batch.mu.Unlock()
	return len(s.batch.queue)
}

// Fallbacks is how many refreshes were in failed statements, and judged
// alone.
func Fallbacks(s *Store) int64 { return s.batch.fallbacks.Load() }

// SearchSQL is SearchNicknames' statement, qualified for s.
func SearchSQL(s *Store, bounded bool) string { return s.q(searchSQL(bounded)) }

// Table is the schema-qualified name of table in s.
func Table(s *Store, table string) string { return s.q(table) }

// SchemaName is the schema s keeps its tables in.
func SchemaName(s *Store) string { return s.schema }
