package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// SetMidTx makes s call f inside its multi-statement transactions
// (CreateSession with keep > 0, Withdraw) right after their first write.
func SetMidTx(s *Store, f func(ctx context.Context, tx pgx.Tx)) { s.midTx = f }
