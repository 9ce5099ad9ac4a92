package memory

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// copyWithdrawal returns a copy of w sharing no slices with it.
func copyWithdrawal(w *storage.Withdrawal) storage.Withdrawal {
	c := *w
	c.KeyHash = bytes.Clone(w.KeyHash)
	return c
}

// Withdraw implements storage.Withdrawals.
func (s *Store) Withdraw(ctx context.Context, w storage.Withdrawal) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pending[w.AccountID]; ok {
		return nil, storage.Conflict(storage.FieldState)
	}
	key := string(w.KeyHash)
	if _, ok := s.withdrawals[key]; ok {
		return nil, storage.Conflict(storage.FieldID)
	}
	c := copyWithdrawal(&w)
	c.PurgedAt = time.Time{}
	s.withdrawals[key] = &c
	s.pending[w.AccountID] = key
	return s.revokeAll(w.AccountID, "", storage.ReasonWithdrawn, w.RequestedAt), nil
}

// GetWithdrawal implements storage.Withdrawals.
func (s *Store) GetWithdrawal(ctx context.Context, keyHash []byte) (storage.Withdrawal, error) {
	if err := ctx.Err(); err != nil {
		return storage.Withdrawal{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return lookup(s.withdrawals, string(keyHash), copyWithdrawal)
}

// GetAccountWithdrawal implements storage.Withdrawals.
func (s *Store) GetAccountWithdrawal(ctx context.Context, accountID string) (storage.Withdrawal, error) {
	if err := ctx.Err(); err != nil {
		return storage.Withdrawal{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	key, ok := s.pending[accountID]
	if !ok {
		return storage.Withdrawal{}, storage.ErrNotFound
	}
	return copyWithdrawal(s.withdrawals[key]), nil
}

// Restore implements storage.Withdrawals.
func (s *Store) Restore(ctx context.Context, keyHash []byte, now time.Time) (storage.Withdrawal, error) {
	if err := ctx.Err(); err != nil {
		return storage.Withdrawal{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := string(keyHash)
	w, ok := s.withdrawals[key]
	switch {
	case !ok:
		return storage.Withdrawal{}, storage.ErrNotFound
	case !w.PurgedAt.IsZero() || !w.Deadline.After(now):
		return storage.Withdrawal{}, storage.ErrWithdrawalExpired
	}
	delete(s.withdrawals, key)
	delete(s.pending, w.AccountID)
	return copyWithdrawal(w), nil
}

// DueWithdrawals implements storage.Withdrawals. It returns the earliest
// deadlines first.
func (s *Store) DueWithdrawals(ctx context.Context, now time.Time, limit int) ([]storage.Withdrawal, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []storage.Withdrawal
	for _, key := range s.pending {
		if w := s.withdrawals[key]; !w.Deadline.After(now) {
			out = append(out, copyWithdrawal(w))
		}
	}
	slices.SortFunc(out, func(a, b storage.Withdrawal) int {
		return cmp.Or(a.Deadline.Compare(b.Deadline), cmp.Compare(a.AccountID, b.AccountID))
	})
	if limit >= 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// MarkPurged implements storage.Withdrawals.
func (s *Store) MarkPurged(ctx context.Context, accountID string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key, ok := s.pending[accountID]
	if !ok {
		return storage.ErrNotFound
	}
	w := s.withdrawals[key]
	s.withdrawals[key] = &storage.Withdrawal{KeyHash: w.KeyHash, Deadline: w.Deadline, PurgedAt: now}
	delete(s.pending, accountID)
	return nil
}

// DeleteTombstones implements storage.Withdrawals.
func (s *Store) DeleteTombstones(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for key, w := range s.withdrawals {
		if !w.PurgedAt.IsZero() && w.Deadline.Before(before) {
			delete(s.withdrawals, key)
			n++
		}
	}
	return n, nil
}
