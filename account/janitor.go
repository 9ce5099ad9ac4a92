package account

import (
	"context"
	"errors"
	"time"

	"github.com/gameauth/gameauth/storage"
)

const purgeBatch = 100

// PurgeWithdrawn purges every account whose withdrawal grace period is
// over, and returns how many it purged: for hosts that run it on their own
// schedule (Run calls it too).
func (s *Service) PurgeWithdrawn(ctx context.Context) (int, error) {
	n := 0
	for {
		now := s.clock()
		due, err := s.store.DueWithdrawals(ctx, now, purgeBatch)
		if err != nil {
			return n, s.unavailable(ctx, "DueWithdrawals", err)
		}
		for _, w := range due {
			if err := s.purge(ctx, w.AccountID, now); err != nil {
				return n, err
			}
			n++
		}
		if len(due) < purgeBatch {
			return n, nil
		}
	}
}

// Sweep is one round of the janitor: it purges due withdrawals, deletes
// tombstones older than TombstoneTTL, sessions that ended more than
// SessionRetention ago, and audit events older than AuditRetention.
func (s *Service) Sweep(ctx context.Context) error {
	var errs []error
	if _, err := s.PurgeWithdrawn(ctx); err != nil {
		errs = append(errs, err)
	}
	now := s.clock()
	if _, err := s.store.DeleteTombstones(ctx, now.Add(-s.cfg.TombstoneTTL)); err != nil {
		errs = append(errs, s.unavailable(ctx, "DeleteTombstones", err))
	}
	if _, err := s.store.DeleteSessionsBefore(ctx, now.Add(-s.cfg.SessionRetention)); err != nil {
		errs = append(errs, s.unavailable(ctx, "DeleteSessionsBefore", err))
	}
	if a, ok := s.store.(storage.Audit); ok {
		if _, err := a.DeleteAuditBefore(ctx, now.Add(-s.cfg.AuditRetention)); err != nil {
			errs = append(errs, s.unavailable(ctx, "DeleteAuditBefore", err))
		}
	}
	return errors.Join(errs...)
}

// Run sweeps at once and then every JanitorInterval until ctx is done, and
// returns nil then. A failed sweep is logged (by the store failure it hit)
// and tried again at the next tick.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.JanitorInterval)
	defer t.Stop()
	for {
		_ = s.Sweep(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
