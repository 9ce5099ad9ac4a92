package memory

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// copySession returns a copy of s sharing no slices with it.
func copySession(s *storage.Session) storage.Session {
	c := *s
	c.RefreshHash = bytes.Clone(s.RefreshHash)
	c.PrevRefreshHash = bytes.Clone(s.PrevRefreshHash)
	return c
}

// CreateSession implements storage.Sessions.
func (s *Store) CreateSession(ctx context.Context, sess storage.Session, keep int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createSession(sess, keep)
}

// createSession is CreateSession under the lock: nothing is written on a
// conflict.
func (s *Store) createSession(sess storage.Session, keep int) ([]string, error) {
	if _, ok := s.sessions[sess.ID]; ok {
		return nil, storage.Conflict(storage.FieldID)
	}
	var replaced []string
	if keep > 0 {
		var live []*storage.Session
		for id := range s.byAccount[sess.AccountID] {
			if old := s.sessions[id]; !old.Revoked() {
				live = append(live, old)
			}
		}
		if excess := len(live) + 1 - keep; excess > 0 {
			slices.SortFunc(live, func(a, b *storage.Session) int {
				return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
			})
			for _, old := range live[:excess] {
				old.RevokedAt, old.RevokeReason = sess.CreatedAt, storage.ReasonReplaced
				replaced = append(replaced, old.ID)
			}
		}
	}
	c := copySession(&sess)
	s.sessions[sess.ID] = &c
	ids := s.byAccount[sess.AccountID]
	if ids == nil {
		ids = map[string]struct{}{}
		s.byAccount[sess.AccountID] = ids
	}
	ids[sess.ID] = struct{}{}
	return replaced, nil
}

// GetSession implements storage.Sessions.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	if err := ctx.Err(); err != nil {
		return storage.Session{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return lookup(s.sessions, id, copySession)
}

// RotateRefresh implements storage.Sessions.
func (s *Store) RotateRefresh(ctx context.Context, id string, r storage.Rotation) (storage.Session, error) {
	if err := ctx.Err(); err != nil {
		return storage.Session{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return storage.Session{}, storage.ErrNotFound
	}
	return rotate(sess, r)
}

// rotate is RotateRefresh on a session of the store; the caller holds the
// write lock.
func rotate(sess *storage.Session, r storage.Rotation) (storage.Session, error) {
	switch storage.Decide(*sess, r) {
	case storage.OutcomeRevoked:
		return copySession(sess), storage.ErrSessionRevoked
	case storage.OutcomeExpired:
		return copySession(sess), storage.ErrRefreshExpired
	case storage.OutcomeAdvance:
		sess.PrevRefreshHash = sess.RefreshHash
		sess.RefreshHash = bytes.Clone(r.Next)
		sess.Generation++
		sess.RotatedAt = r.Now
		return copySession(sess), nil
	case storage.OutcomeRetry:
		return copySession(sess), nil
	default:
		sess.RevokedAt, sess.RevokeReason = r.Now, storage.ReasonReused
		return copySession(sess), storage.ErrRefreshReused
	}
}

// RevokeSession implements storage.Sessions.
func (s *Store) RevokeSession(ctx context.Context, id string, reason storage.RevokeReason, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return storage.ErrNotFound
	}
	if !sess.Revoked() {
		sess.RevokedAt, sess.RevokeReason = now, reason
	}
	return nil
}

// RevokeSessions implements storage.Sessions.
func (s *Store) RevokeSessions(ctx context.Context, accountID, except string, reason storage.RevokeReason, now time.Time) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revokeAll(accountID, except, reason, now), nil
}

// revokeAll revokes the account's live sessions but except; the caller holds
// the write lock.
func (s *Store) revokeAll(accountID, except string, reason storage.RevokeReason, now time.Time) []string {
	var revoked []string
	for id := range s.byAccount[accountID] {
		if sess := s.sessions[id]; id != except && !sess.Revoked() {
			sess.RevokedAt, sess.RevokeReason = now, reason
			revoked = append(revoked, id)
		}
	}
	slices.Sort(revoked)
	return revoked
}

// RevokedSince implements storage.Sessions.
func (s *Store) RevokedSince(ctx context.Context, since time.Time) ([]storage.Revocation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []storage.Revocation
	for _, sess := range s.sessions {
		if sess.Revoked() && !sess.RevokedAt.Before(since) {
			out = append(out, storage.Revocation{
				SessionID: sess.ID, AccountID: sess.AccountID, Reason: sess.RevokeReason, At: sess.RevokedAt,
			})
		}
	}
	slices.SortFunc(out, func(a, b storage.Revocation) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.SessionID, b.SessionID))
	})
	return out, nil
}

// DeleteSessionsBefore implements storage.Sessions.
func (s *Store) DeleteSessionsBefore(ctx context.Context, t time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, sess := range s.sessions {
		if sess.ExpiresAt.Before(t) || (sess.Revoked() && sess.RevokedAt.Before(t)) {
			delete(s.sessions, id)
			if ids := s.byAccount[sess.AccountID]; ids != nil {
				delete(ids, id)
				if len(ids) == 0 {
					delete(s.byAccount, sess.AccountID)
				}
			}
			n++
		}
	}
	return n, nil
}
