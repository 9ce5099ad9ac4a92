package memory

import (
	"context"
	"time"

	"github.com/gameauth/gameauth/storage"
)

var _ storage.Refresher = (*Store)(nil)

// Refresh implements storage.Refresher: the checks and the rotation under
// one hold of the write lock.
func (s *Store) Refresh(ctx context.Context, id string, r storage.Rotation) (storage.RefreshState, error) {
	if err := ctx.Err(); err != nil {
		return storage.RefreshState{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return storage.RefreshState{}, storage.ErrNotFound
	}
	a, err := s.account(sess.AccountID)
	if err != nil {
		return storage.RefreshState{}, err
	}
	st := storage.RefreshState{Account: a}
	if s.held(sess, r.Now) {
		st.Session, st.Held = copySession(sess), true
		return st, nil
	}
	st.Session, err = rotate(sess, r)
	return st, err
}

// held reports whether the session's account is under a hold at now
// (storage.RefreshState.Held): a pending withdrawal, or an account-wide
// block in force on the player or on the session's device. The caller holds
// the lock.
func (s *Store) held(sess *storage.Session, now time.Time) bool {
	if _, ok := s.pending[sess.AccountID]; ok {
		return true
	}
	var player, device []storage.Block
	for _, b := range s.blocks {
		switch {
		case b.Kind == storage.BlockPlayer && b.Subject == sess.AccountID:
			player = append(player, *b)
		case b.Kind == storage.BlockDevice && sess.DeviceID != "" && b.Subject == sess.DeviceID:
			device = append(device, *b)
		}
	}
	_, p := storage.Widest(player, "", now)
	_, d := storage.Widest(device, "", now)
	return p || d
}
