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
	if s.stopped(sess, r.Now) {
		st.Session, st.Stopped = copySession(sess), true
		return st, nil
	}
	st.Session, err = rotate(sess, r)
	return st, err
}

// stopped reports whether the session's account has a pending withdrawal,
// or an account-wide block in force at now on the player or on the
// session's device; the caller holds the lock.
func (s *Store) stopped(sess *storage.Session, now time.Time) bool {
	if _, ok := s.pending[sess.AccountID]; ok {
		return true
	}
	for _, b := range s.blocks {
		if len(b.Services) != 0 || !b.ActiveAt(now) {
			continue
		}
		if b.Kind == storage.BlockPlayer && b.Subject == sess.AccountID ||
			b.Kind == storage.BlockDevice && sess.DeviceID != "" && b.Subject == sess.DeviceID {
			return true
		}
	}
	return false
}
