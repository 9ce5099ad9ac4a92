package memory

import (
	"bytes"
	"context"
	"slices"
	"time"

	"github.com/gameauth/gameauth/storage"
)

// resetWindow is the span over which CreateResetCode counts codes per email.
const resetWindow = 24 * time.Hour

// resetState is an email's current reset code and its recent creations.
type resetState struct {
	code     storage.ResetCode
	live     bool // false once used, spent or never set
	attempts int
	created  []time.Time // creation times, oldest first, pruned to the window
}

// CreateResetCode implements storage.ResetCodes. A maxPerDay of 0 or less
// means no limit.
func (s *Store) CreateResetCode(ctx context.Context, c storage.ResetCode, maxPerDay int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.resets[c.Email]
	if st == nil {
		st = &resetState{}
		s.resets[c.Email] = st
	}
	// Forget creations that can no longer count, then count the rest.
	from := c.CreatedAt.Add(-resetWindow)
	st.created = slices.DeleteFunc(st.created, func(t time.Time) bool { return !t.After(from) })
	if maxPerDay > 0 && len(st.created) >= maxPerDay {
		return storage.ErrLimited
	}
	c.CodeHash = bytes.Clone(c.CodeHash)
	st.code, st.live, st.attempts = c, true, 0
	st.created = append(st.created, c.CreatedAt)
	return nil
}

// ConsumeResetCode implements storage.ResetCodes.
func (s *Store) ConsumeResetCode(ctx context.Context, email string, codeHash []byte, now time.Time, maxAttempts int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.resets[email]
	if st == nil || !st.live || !now.Before(st.code.ExpiresAt) {
		return storage.ErrNotFound
	}
	if !bytes.Equal(codeHash, st.code.CodeHash) {
		st.attempts++
		if st.attempts >= maxAttempts {
			st.live = false
		}
		return storage.ErrNotFound
	}
	st.live = false
	return nil
}
